/**
 * Keeps the monitoring files in step with their one source, manifests/monitoring/flink-ha-sidecar.rules.yaml
 * (a plain Prometheus rule file), so that nobody keeps copies in step by hand:
 *
 * - manifests/monitoring/prometheus-rule.yaml, the Prometheus Operator's PrometheusRule, is generated
 *   from the rule file;
 * - every `runbook_url` (in the rule file, and in the alerts test/monitoring/alerts.test.yaml expects)
 *   is RUNBOOK_BASE_URL, then `#` and the anchor of the alert's section in docs/operations.md. Only
 *   the part before the `#` is rewritten: each alert names its own anchor.
 *
 *   npm run monitoring:generate            rewrite whichever of the three files is out of date
 *   npm run monitoring:generate -- --check exit 1 when one of them is out of date
 *
 * The rules are copied as text, indented under `spec:`, so their comments survive; a uniform
 * indent never changes what YAML means. test/integration/alerts.test.ts and
 * test/unit/runbook-links.test.ts check the result.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

/**
 * Where every alert's runbook_url points, before the `#`: docs/operations.md as the repository's
 * web page shows it, an absolute URL that Alertmanager, Grafana or a pager can open. The one place
 * this repository sets it; change it here and run `npm run monitoring:generate`. A deployment that
 * keeps the runbook elsewhere overrides it in its own Kustomize overlay instead (docs/operations.md,
 * "Runbook links").
 */
export const RUNBOOK_BASE_URL = 'https://github.com/flink-ha-sidecar/flink-ha-sidecar/blob/main/docs/operations.md';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const MONITORING_DIR = join(PROJECT_ROOT, 'manifests', 'monitoring');
export const RULES_FILE = join(MONITORING_DIR, 'flink-ha-sidecar.rules.yaml');
export const PROMETHEUS_RULE_FILE = join(MONITORING_DIR, 'prometheus-rule.yaml');
export const ALERT_TESTS_FILE = join(PROJECT_ROOT, 'test', 'monitoring', 'alerts.test.yaml');

const HEADER = `# Generated from flink-ha-sidecar.rules.yaml by \`npm run monitoring:generate\`: edit that file, not this one.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: flink-ha-sidecar
  labels:
    app.kubernetes.io/name: flink-ha-sidecar
    app.kubernetes.io/component: monitoring
spec:
`;

/** A `runbook_url: "<base>#<anchor>"` line: the indent and key, the base, and the rest from the `#`. */
const RUNBOOK_LINE = /^(\s*runbook_url:\s*)"([^"#]*)(#[^"]*")\s*$/gm;

/** The text with the base of every quoted `runbook_url` that has an anchor set to `base`. */
export function withRunbookBase(text: string, base: string = RUNBOOK_BASE_URL): string {
  return text.replace(RUNBOOK_LINE, (_line, key: string, _oldBase: string, anchor: string) => `${key}"${base}${anchor}`);
}

/**
 * The PrometheusRule text for a rule file's text: the file's leading comment block is dropped
 * (it describes the source file) and everything from the first non-comment line on is indented
 * by two spaces under `spec:`.
 */
export function renderPrometheusRule(rulesText: string): string {
  const lines = rulesText.split('\n');
  const first = lines.findIndex((line) => line.trim() !== '' && !line.trimStart().startsWith('#'));
  if (first < 0) throw new Error('the rule file has no content');
  const body = lines
    .slice(first)
    .map((line) => (line === '' ? '' : `  ${line}`))
    .join('\n');
  return HEADER + body.replace(/\n*$/, '\n');
}

/** Each generated file with the content it should have, from the rule file as it is now. */
export function expectedFiles(): Map<string, string> {
  const rules = withRunbookBase(readFileSync(RULES_FILE, 'utf8'));
  return new Map([
    [RULES_FILE, rules],
    [PROMETHEUS_RULE_FILE, renderPrometheusRule(rules)],
    [ALERT_TESTS_FILE, withRunbookBase(readFileSync(ALERT_TESTS_FILE, 'utf8'))],
  ]);
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // missing counts as out of date
  }
}

function main(): void {
  const stale = [...expectedFiles()].filter(([file, text]) => readOrEmpty(file) !== text);
  const name = (file: string): string => relative(PROJECT_ROOT, file);
  if (process.argv.includes('--check')) {
    for (const [file] of stale) process.stderr.write(`${name(file)} is out of date: run npm run monitoring:generate\n`);
    if (stale.length > 0) process.exit(1);
    return;
  }
  for (const [file, text] of stale) {
    writeFileSync(file, text);
    process.stdout.write(`wrote ${name(file)}\n`);
  }
  if (stale.length === 0) process.stdout.write('the monitoring files are up to date\n');
}

if (require.main === module) main();
