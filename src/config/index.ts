/**
 * Settings: the one place that reads flags, environment variables and Flink's own configuration
 * file, validates them and reports every problem at once. This module is what the rest of the
 * sidecar imports; settings.ts holds the table every setting is defined in.
 *
 * Precedence: flag, then environment variable, then Flink's configuration file (flink-conf.yaml or
 * config.yaml in FLINK_CONF_DIR, for the settings that Flink has too), then default. An empty
 * environment variable counts as unset (Kubernetes renders an unset downward-API field or an empty
 * ConfigMap value as ""); an empty flag value is a value and is validated like any other.
 */
export { helpText, settingsReference } from './help.js';
export { SERVICE_ACCOUNT_DIR } from './in-cluster.js';
export { loadConfig, type LoadOptions } from './load.js';
export { DEFAULT_LEADER_HANDOVER_DELAY_MS, settingDefault } from './settings.js';
export type { Config, FlinkRestTls, SettingName, SettingSource, ZooKeeperAuth } from './types.js';
