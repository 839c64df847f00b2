import pino, { type Logger } from 'pino';

/** Keys whose values never reach a log line, at any depth pino can address. */
const SECRET_KEYS = ['password', 'secret', 'token', 'key', 'credential', 'authorization'];

/**
 * The sidecar's logger: JSON lines on stdout, ISO times, level names rather than numbers (easier
 * to filter in any log stack). Modules take a child with `{ module }`.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const paths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
  return pino(
    {
      name: 'flink-ha-sidecar',
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths, censor: '******' },
    },
    destination,
  );
}
