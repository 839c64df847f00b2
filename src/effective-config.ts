import type { Config } from './config/index.js';
import type { EffectiveSetting } from './http/debug-app.js';
import { isSecretName, MASK, mask } from './secrets.js';

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
  return (
    settings
      // Names are ASCII identifiers: code-unit order, the same here as a locale's, without loading
      // ICU's collation data (about 2 MiB resident) on the first request.
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((s) => ({ ...s, value: isSecretName(s.name) ? MASK : mask(plain(s.value)) }))
  );
}

/** URLs and other objects as JSON would show them, without their methods. */
function plain(value: unknown): unknown {
  if (value instanceof URL) return value.href;
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}
