/**
 * The command line: which flags were given with which values, --help and --version, and every
 * mistake in the arguments (unknown flags, missing values, stray words) for one report.
 */
import { parseArgs } from 'node:util';
import { label, SETTING_NAMES, SETTINGS, type SettingSpec } from './settings.js';
import { show } from './values.js';

const SPEC_BY_FLAG = new Map<string, SettingSpec<unknown>>(SETTING_NAMES.map((name) => [SETTINGS[name].flag, SETTINGS[name]]));

/** The flag and, for a setting, its variable too: the operator may be looking at either. */
const flagLabel = (flag: string): string => {
  const spec = SPEC_BY_FLAG.get(flag);
  return spec === undefined ? `--${flag}` : label(spec);
};

export interface ArgScan {
  /** Values by long flag name, in order given (more than one is a problem). */
  readonly values: Map<string, string[]>;
  help: boolean;
  version: boolean;
  readonly positionals: string[];
  readonly problems: string[];
}

type ParseOptions = Record<string, { type: 'string' | 'boolean'; short?: string }>;

const PARSE_OPTIONS: ParseOptions = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  ...Object.fromEntries(SETTING_NAMES.map((name) => [SETTINGS[name].flag, { type: 'string' as const }])),
};

/**
 * parseArgs runs non-strict with tokens: strict mode throws at the first mistake, and we want every
 * mistake in one report. The checks strict mode would make are made here on the tokens instead.
 */
export function scanArgs(args: readonly string[], scan: ArgScan): void {
  const { tokens } = parseArgs({
    args: [...args],
    options: PARSE_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind === 'positional') scan.positionals.push(token.value);
    if (token.kind !== 'option') continue;
    const option = PARSE_OPTIONS[token.name];
    if (option === undefined) {
      scan.problems.push(`unknown flag ${token.rawName} (see --help)`);
    } else if (option.type === 'boolean') {
      if (token.value !== undefined) scan.problems.push(`${token.rawName} does not take a value`);
      else if (token.name === 'help') scan.help = true;
      else scan.version = true;
    } else if (token.value === undefined) {
      scan.problems.push(`${flagLabel(token.name)}: ${token.rawName} needs a value`);
    } else if (!token.inlineValue && token.value.startsWith('-') && token.value !== '-') {
      // Non-strict parseArgs took the next flag as this one's value; strict mode calls that
      // ambiguous. Report it, then read the rest again so that the next flag still counts.
      scan.problems.push(
        `${flagLabel(token.name)}: ${token.rawName} needs a value (one starting with "-" is written ${token.rawName}=-...)`,
      );
      scanArgs(args.slice(token.index + 1), scan);
      return;
    } else {
      const seen = scan.values.get(token.name) ?? [];
      scan.values.set(token.name, [...seen, token.value]);
    }
  }
}

/** Settings are flags only, so every word that is not one is a problem (the first may be a mistyped command). */
export function positionalProblems(positionals: readonly string[]): string[] {
  return positionals.map((value, i) =>
    i === 0
      ? `unknown command ${show(value)} (settings are flags, see --help)`
      : `unexpected argument ${show(value)} (settings are flags, see --help)`,
  );
}
