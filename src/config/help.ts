/** The --help text, generated from the settings table, and the --version text. */
import type { LeaderSource } from '../core/model.js';
import { SETTING_NAMES, SETTINGS, type SettingSpec } from './settings.js';

function defaultHelp(spec: SettingSpec<unknown>): string {
  if ('example' in spec.unset) return requiredText(spec.unset.onlyWithSource, (source) => `required with --leader-source=${source}`);
  if ('raw' in spec.unset) return `default ${spec.unset.raw}`;
  return `default: ${spec.unset.help}`;
}

function settingHelp(spec: SettingSpec<unknown>): string[] {
  const head = [`  --${spec.flag} ${spec.valueHint}`, `      ${spec.env}, ${defaultHelp(spec)}`];
  const flink = spec.flink === undefined ? [] : wrap(`Flink file: ${spec.flink.help}`, HELP_WIDTH - 6, '  ');
  return [...head, ...[...flink, ...spec.help].map((line) => `      ${line}`)];
}

/** The hand-wrapped help lines are at most this wide. */
const HELP_WIDTH = 100;

/** Wraps at spaces; continuation lines get `indent`. A word longer than the width stays whole. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    const candidate = line === '' ? word : `${line} ${word}`;
    if (candidate.length > width && line !== '') {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line = candidate;
    }
  }
  lines.push(line);
  return lines;
}

/** The --help text: every flag with its variable, default and meaning, then the exit codes. Ends with a newline. */
export function helpText(): string {
  const lines = [
    'Usage: flink-ha-sidecar [flags]',
    '       flink-ha-sidecar status [--json] [flags]   read the leader election once and exit',
    '',
    'Readiness for Apache Flink JobManagers in ZooKeeper high-availability mode: reads the leader',
    "election from ZooKeeper and the local JobManager's health from its REST API; only the",
    'healthy leader is Ready.',
    '',
    'Each flag has an environment variable. The flag wins over the variable, the variable over',
    'Flink\'s configuration file (for the settings marked "Flink file"), the file over the',
    'default. An empty variable counts as unset. Write --flag=value or --flag value.',
  ];
  let section = '';
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    if (spec.section !== section) {
      section = spec.section;
      lines.push('', `${section}:`);
    }
    lines.push(...settingHelp(spec));
  }
  lines.push(
    '',
    'Other:',
    '  -h, --help       Show this help and exit.',
    '  -v, --version    Show the version and exit.',
    '',
    'Exit codes:',
    '  0  help or version shown, or stopped cleanly (status: rest_server has a current leader)',
    '  1  failure at run time (the log says which; status: no current rest_server leader)',
    '  2  invalid settings (every problem is listed on stderr; status: also ZooKeeper unreachable)',
  );
  return `${lines.join('\n')}\n`;
}

/** Markdown: `|` would end a table cell. */
const cell = (text: string): string => text.replaceAll('|', '\\|');

/**
 * The configuration reference in docs/configuration.md, generated from the same table as --help
 * (scripts/generate-settings-doc.ts writes it; a unit test fails when the page is stale): one
 * table per section, each setting with its variable, flag, default, Flink keys and meaning.
 */
export function settingsReference(): string {
  const out: string[] = [];
  let section = '';
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    if (spec.section !== section) {
      section = spec.section;
      out.push(
        '',
        `### ${section} settings`,
        '',
        "| environment | flag | default | from Flink's file | meaning |",
        '|---|---|---|---|---|',
      );
    }
    const fallback =
      'example' in spec.unset
        ? requiredText(spec.unset.onlyWithSource, (source) => `required with ${source}`)
        : 'raw' in spec.unset
          ? `\`${spec.unset.raw}\``
          : spec.unset.help;
    const flink = spec.flink === undefined ? '' : spec.flink.help;
    out.push(
      `| \`${spec.env}\` | \`--${spec.flag} ${cell(spec.valueHint)}\` | ${cell(fallback)} | ${cell(flink)} | ${cell(spec.help.join(' '))} |`,
    );
  }
  return `${out.join('\n').trimStart()}\n`;
}

/** The --version text. */
export function versionText(version: string): string {
  return `flink-ha-sidecar ${version}`;
}

/** ZooKeeper is the default source: settings required by it alone read as plainly required. */
function requiredText(source: LeaderSource | undefined, withSource: (source: LeaderSource) => string): string {
  return source === undefined || source === 'zookeeper' ? 'required' : withSource(source);
}
