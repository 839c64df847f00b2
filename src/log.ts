import pino, { type Logger } from 'pino';
import { maskJsonLine } from './secrets.js';

/**
 * The sidecar's logger: JSON lines on stdout, ISO times, level names rather than numbers (easier
 * to filter in any log stack). Modules take a child with `{ module }`.
 *
 * Secret-named values are masked in every line, by the rule /debug/config follows (./secrets.ts).
 * pino's own `redact` would do it by path patterns, but it parses each pattern again for every
 * line, enough for V8 to bring up its optimizing compiler during start: about 3.5 MiB more
 * resident memory, for a process that logs a few lines a minute.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'flink-ha-sidecar',
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // On the finished line, so that a child's bindings and serialized errors are covered too.
      hooks: { streamWrite: maskJsonLine },
    },
    destination,
  );
}
