/**
 * Covers the alerts' runbook links (docs/operations.md, "Runbook links"): every runbook_url in the
 * rule file, the generated PrometheusRule and the alerts test/monitoring/alerts.test.yaml expects
 * is RUNBOOK_BASE_URL (an absolute URL of docs/operations.md), `#`, and the anchor of a section
 * under "## Runbook" in docs/operations.md named after the alert; the files are up to date with
 * `npm run monitoring:generate`; and the two overrides that page documents, a Kustomize overlay
 * (rendered with kubectl or kustomize where installed) and a sed command, read from the page
 * itself, rewrite the base of every runbook_url and keep the anchors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  ALERT_TESTS_FILE,
  MONITORING_DIR,
  PROMETHEUS_RULE_FILE,
  RULES_FILE,
  RUNBOOK_BASE_URL,
  expectedFiles,
} from '../monitoring/prometheus-rule.js';
import { findKustomize, renderWithKustomize } from '../support/kustomize.js';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const OPERATIONS = join(PROJECT_ROOT, 'docs', 'operations.md');

interface Rule {
  alert?: string;
  annotations?: Record<string, string>;
}
interface RuleGroups {
  groups: { rules: Rule[] }[];
}
interface AlertTests {
  tests: { alert_rule_test: { alertname: string; exp_alerts?: { exp_annotations?: Record<string, string> }[] }[] }[];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The text of a Markdown section, from its heading line to the next heading of the same or a higher level. */
function section(markdown: string, heading: string): string {
  const level = /^#+/.exec(heading)![0].length;
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  assert.ok(start >= 0, `docs/operations.md has no "${heading}"`);
  const end = lines.findIndex((line, i) => i > start && new RegExp(`^#{1,${level}} `).test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** The fenced code blocks of a Markdown text in a language, unindented. */
function codeBlocks(markdown: string, language: string): string[] {
  return [...markdown.matchAll(/^( *)```(\w*)\n([\s\S]*?)^\1```$/gm)]
    .filter((m) => m[2] === language)
    .map((m) =>
      m[3]!
        .split('\n')
        .map((line) => line.slice(m[1]!.length))
        .join('\n'),
    );
}

const operations = readFileSync(OPERATIONS, 'utf8');
const runbookAnchors = new Set([...section(operations, '## Runbook').matchAll(/^### (.+)$/gm)].map((m) => githubAnchor(m[1]!)));

/** Every alert of a rule file's groups, with its runbook_url. */
const alertsOf = (groups: RuleGroups): { alert: string; url: string }[] =>
  groups.groups
    .flatMap((g) => g.rules)
    .filter((r) => r.alert !== undefined)
    .map((r) => ({ alert: r.alert!, url: r.annotations?.['runbook_url'] ?? '' }));

const ruleFileAlerts = (): { alert: string; url: string }[] => alertsOf(parse(readFileSync(RULES_FILE, 'utf8')) as RuleGroups);

describe('runbook links', () => {
  it('RUNBOOK_BASE_URL is an absolute https URL of docs/operations.md, without an anchor or query', () => {
    const url = new URL(RUNBOOK_BASE_URL);
    assert.equal(url.protocol, 'https:');
    assert.equal(url.hash, '');
    assert.equal(url.search, '');
    assert.match(url.pathname, /\/docs\/operations\.md$/);
    assert.ok(existsSync(OPERATIONS));
  });

  it('docs/operations.md states the base that RUNBOOK_BASE_URL holds', () => {
    assert.ok(section(operations, '### Runbook links').includes(`\`${RUNBOOK_BASE_URL}\``));
  });

  it('the rule file, the PrometheusRule and the alert tests are up to date (npm run monitoring:generate)', () => {
    for (const [file, expected] of expectedFiles()) {
      assert.equal(readFileSync(file, 'utf8'), expected, `${relative(PROJECT_ROOT, file)} is out of date: run npm run monitoring:generate`);
    }
  });

  const files: [string, () => { alert: string; url: string }[]][] = [
    [RULES_FILE, ruleFileAlerts],
    [PROMETHEUS_RULE_FILE, () => alertsOf((parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')) as { spec: RuleGroups }).spec)],
    [
      ALERT_TESTS_FILE,
      () =>
        (parse(readFileSync(ALERT_TESTS_FILE, 'utf8')) as AlertTests).tests
          .flatMap((t) => t.alert_rule_test)
          .flatMap((c) => (c.exp_alerts ?? []).map((a) => ({ alert: c.alertname, url: a.exp_annotations?.['runbook_url'] ?? '' }))),
    ],
  ];
  for (const [file, alerts] of files) {
    it(`${relative(PROJECT_ROOT, file)}: every runbook_url is RUNBOOK_BASE_URL#<the alert's section under "## Runbook">`, () => {
      const found = alerts();
      assert.ok(found.length > 0, 'no alerts');
      for (const { alert, url } of found) {
        assert.equal(url, `${RUNBOOK_BASE_URL}#${githubAnchor(alert)}`, alert);
        assert.ok(runbookAnchors.has(githubAnchor(alert)), `docs/operations.md has no "### ${alert}" under "## Runbook"`);
      }
    });
  }

  it('the overlay in docs/operations.md sets the base of every runbook_url in one field and keeps the anchors', (t) => {
    if (findKustomize() === null) {
      t.skip('neither kubectl nor kustomize is installed');
      return;
    }
    const [overlay, ...others] = codeBlocks(section(operations, '### Runbook links'), 'yaml');
    assert.ok(overlay !== undefined && others.length === 0, 'one yaml block under "### Runbook links"');
    const k = parse(overlay) as { resources: string[]; configMapGenerator: { literals: string[] }[] };
    assert.deepEqual(k.resources, ['../flink-ha-sidecar/manifests/monitoring']);
    const base = /^runbook-base-url=(.+)$/.exec(k.configMapGenerator[0]!.literals[0]!)?.[1];
    assert.ok(base !== undefined && base !== RUNBOOK_BASE_URL);

    const dir = mkdtempSync(join(tmpdir(), 'runbook-overlay-'));
    try {
      writeFileSync(join(dir, 'kustomization.yaml'), overlay.replace(k.resources[0]!, relative(dir, MONITORING_DIR)));
      const { objects } = renderWithKustomize(dir);
      assert.deepEqual(
        objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
        ['ConfigMap/flink-ha-sidecar-dashboard', 'PodMonitor/flink-ha-sidecar', 'PrometheusRule/flink-ha-sidecar'],
        "the overlay's local ConfigMap is not rendered",
      );
      const rule = objects.find((o) => o['kind'] === 'PrometheusRule') as unknown as { spec: RuleGroups };
      assert.deepEqual(
        alertsOf(rule.spec),
        ruleFileAlerts().map(({ alert, url }) => ({ alert, url: url.replace(RUNBOOK_BASE_URL, base) })),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the sed command in docs/operations.md sets the base of every runbook_url of the plain rule file and keeps the anchors', () => {
    const [script, ...others] = codeBlocks(section(operations, '### Runbook links'), 'sh');
    assert.ok(script !== undefined && others.length === 0, 'one sh block under "### Runbook links"');
    const output = /> (\S+)\s*$/.exec(script)?.[1];
    const base = /\\1(https:[^|]+)\|/.exec(script)?.[1];
    assert.ok(output !== undefined && base !== undefined, script);

    const dir = mkdtempSync(join(tmpdir(), 'runbook-sed-'));
    try {
      symlinkSync(join(PROJECT_ROOT, 'manifests'), join(dir, 'manifests'));
      execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      const rewritten = alertsOf(parse(readFileSync(join(dir, output), 'utf8')) as RuleGroups);
      assert.deepEqual(
        rewritten,
        ruleFileAlerts().map(({ alert, url }) => ({ alert, url: url.replace(RUNBOOK_BASE_URL, base) })),
      );
      // Nothing but the runbook URLs changed.
      assert.equal(readFileSync(join(dir, output), 'utf8').split(base).join(RUNBOOK_BASE_URL), readFileSync(RULES_FILE, 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
