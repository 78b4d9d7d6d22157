#!/usr/bin/env node
/**
 * The `recodex-monitor` command: arguments, exit codes and signals.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { ConfigError, DEFAULT_CONFIG, loadConfigFile, type LoadedConfig } from './config';
import { createLogger } from './logger';
import { Monitor } from './monitor';
import { UnsupportedRuntimeError } from './uws';

/** sysexits.h EX_CONFIG: the configuration is unusable. */
export const EXIT_CONFIG = 78;
export const EXIT_FAILURE = 1;

async function main(argv: string[]): Promise<void> {
  const args = await yargs(hideBin(argv))
    .scriptName('recodex-monitor')
    .usage(
      '$0 [-c FILE]\n\nRelays ReCodEx job progress from the broker (ZeroMQ) to browsers (WebSocket).',
    )
    .option('config', {
      alias: 'c',
      type: 'string',
      describe: 'YAML configuration file (built-in defaults without it)',
    })
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .alias('version', 'V')
    .parseAsync();

  let loaded: LoadedConfig = { config: DEFAULT_CONFIG, warnings: [] };
  if (args.config !== undefined) {
    try {
      loaded = loadConfigFile(args.config);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      process.stderr.write(`recodex-monitor: ${error.message}\n`);
      process.exitCode = EXIT_CONFIG;
      return;
    }
  }
  const logger = createLogger(loaded.config.logger);
  for (const warning of loaded.warnings) logger.warning(warning);

  let monitor: Monitor;
  try {
    monitor = new Monitor({ config: loaded.config, logger });
  } catch (error) {
    if (!(error instanceof UnsupportedRuntimeError)) throw error;
    logger.critical(error.message);
    process.stderr.write(`recodex-monitor: ${error.message}\n`);
    await logger.close();
    process.exit(EXIT_FAILURE);
  }

  monitor.onStopped((failed) => {
    void logger.close().then(() => process.exit(failed ? EXIT_FAILURE : 0));
  });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // A second signal: the admin does not want to wait.
      process.exit(EXIT_FAILURE);
    }
    signalled = true;
    void monitor.stop(`received ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `systemctl reload` and logrotate: start a fresh log file instead of dying (SIGHUP's default).
  process.on('SIGHUP', () => {
    logger.info('received SIGHUP: reopening the log file');
    logger.reopen();
  });

  try {
    await monitor.start();
  } catch (error) {
    logger.critical(`cannot start: ${(error as Error).message}`);
    await monitor.stop('start-up failed', true);
  }
}

main(process.argv).catch((error: unknown) => {
  process.stderr.write(`recodex-monitor: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(EXIT_FAILURE);
});
