/**
 * Generates manifests/monitoring/prometheus-rule.yaml (a Prometheus Operator PrometheusRule) from
 * manifests/monitoring/flink-ha-sidecar.rules.yaml (a plain Prometheus rule file, the one source of
 * the alerts), so that nobody keeps two copies in step by hand.
 *
 *   npm run monitoring:generate            write the PrometheusRule
 *   npm run monitoring:generate -- --check exit 1 when the committed PrometheusRule is out of date
 *
 * The rules are copied as text, indented under `spec:`, so their comments survive; a uniform
 * indent never changes what YAML means. test/integration/alerts.test.ts checks the result both ways.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
export const MONITORING_DIR = join(PROJECT_ROOT, 'manifests', 'monitoring');
export const RULES_FILE = join(MONITORING_DIR, 'flink-ha-sidecar.rules.yaml');
export const PROMETHEUS_RULE_FILE = join(MONITORING_DIR, 'prometheus-rule.yaml');

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

function main(): void {
  const rendered = renderPrometheusRule(readFileSync(RULES_FILE, 'utf8'));
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(PROMETHEUS_RULE_FILE, 'utf8');
    } catch {
      // missing counts as out of date
    }
    if (current !== rendered) {
      process.stderr.write(`${PROMETHEUS_RULE_FILE} is out of date: run npm run monitoring:generate\n`);
      process.exit(1);
    }
    return;
  }
  writeFileSync(PROMETHEUS_RULE_FILE, rendered);
  process.stdout.write(`wrote ${PROMETHEUS_RULE_FILE}\n`);
}

if (require.main === module) main();
