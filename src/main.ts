#!/usr/bin/env node
import { loadConfig } from './config/index.js';
import { ConfigError } from './errors.js';
import { createLogger } from './log.js';
import { runStatus } from './cli/status.js';
import { packageVersion } from './package-version.js';
import { startSidecar } from './sidecar.js';

/** Exit codes: 0 after a clean stop, 1 on a failure at run time, 2 for invalid settings. */
const EXIT_RUNTIME_FAILURE = 1;
const EXIT_INVALID_SETTINGS = 2;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // `flink-ha-sidecar status [--json] [settings]` reads ZooKeeper once and exits.
  const isStatus = args[0] === 'status';
  const json = isStatus && args.includes('--json');
  const settingArgs = isStatus ? args.slice(1).filter((a) => a !== '--json') : args;
  let result;
  try {
    result = loadConfig(settingArgs, process.env, packageVersion());
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`flink-ha-sidecar: ${err.message}\nRun with --help to see every setting.\n`);
      process.exit(EXIT_INVALID_SETTINGS);
    }
    throw err;
  }
  if (result.kind !== 'run') {
    process.stdout.write(result.text.endsWith('\n') ? result.text : `${result.text}\n`);
    return;
  }
  const config = result.config;
  if (isStatus) {
    const status = await runStatus(config, json);
    process.stdout.write(status.output);
    process.exitCode = status.exitCode;
    return;
  }
  const logger = createLogger(config.logLevel);

  process.on('uncaughtException', (err) => {
    logger.fatal({ err }, 'unexpected error; exiting so that Kubernetes restarts the sidecar');
    process.exit(EXIT_RUNTIME_FAILURE);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err }, 'unexpected rejection; exiting so that Kubernetes restarts the sidecar');
    process.exit(EXIT_RUNTIME_FAILURE);
  });

  let sidecar;
  try {
    sidecar = await startSidecar(config, logger);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`flink-ha-sidecar: ${err.message}\n`);
      process.exit(EXIT_INVALID_SETTINGS);
    }
    logger.fatal({ err }, 'could not start');
    process.exit(EXIT_RUNTIME_FAILURE);
  }
  const running = sidecar;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void running.shutdown(signal).then(() => process.exit(0));
    });
  }
}

void main();
