import type { Config } from './config/index.js';
import type { EffectiveSetting } from './http/debug-app.js';

/** Any key whose name contains one of these is shown masked, at any depth. */
const SECRET_NAME = /password|secret|key|token|credential|authorization/i;
export const MASK = '******';

/**
 * The effective settings for /debug/config: each with its value (secrets masked) and where it
 * came from (flag, environment, Flink's config file, default).
 */
export function effectiveSettings(config: Config): EffectiveSetting[] {
  const sources = config.sources as Record<string, string>;
  const values: Record<string, unknown> = {
    ...(config as unknown as Record<string, unknown>),
    // The TLS files are settings of their own, kept together in flinkRestTls.
    flinkRestCaFile: config.flinkRestTls.caFile,
    flinkRestCertFile: config.flinkRestTls.certFile,
    flinkRestKeyFile: config.flinkRestTls.keyFile,
    flinkRestTruststore: config.flinkRestTls.truststore?.file ?? null,
    flinkRestTruststorePassword: config.flinkRestTls.truststore?.password ?? null,
    flinkRestServerName: config.flinkRestTls.serverName,
  };
  const settings = Object.keys(sources).map((name) => ({ name, value: values[name], source: sources[name] ?? 'default' }));
  // Read from Flink's file, or found there, rather than set.
  settings.push(
    { name: 'flinkConfFile', value: config.flinkConfFile, source: 'flink-conf' },
    { name: 'flinkRestAddress', value: config.flinkRestAddress, source: 'flink-conf' },
  );
  return settings
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((s) => ({ ...s, value: SECRET_NAME.test(s.name) ? MASK : mask(plain(s.value)) }));
}

/** Masks the values of secret-named keys in plain data (objects and arrays), leaving the rest. */
export function mask(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(mask);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_NAME.test(k) && v !== null ? MASK : mask(v)]),
    );
  }
  return value;
}

/** URLs and other objects as JSON would show them, without their methods. */
function plain(value: unknown): unknown {
  if (value instanceof URL) return value.href;
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}
