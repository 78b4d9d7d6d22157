#!/usr/bin/env node
/**
 * The `recodex-monitor` command: arguments, exit codes and signals. Without a subcommand it
 * runs the monitor; `send`, `watch` and `demo` are the admin's tools.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  type Config,
  ConfigError,
  type Endpoint,
  DEFAULT_CONFIG,
  loadConfigFile,
  type LoadedConfig,
} from './config';
import { createLogger } from './logger';
import { Monitor } from './monitor';
import { bench, benchOptions } from './tools/bench/command';
import { Demo } from './tools/demo';
import { connectHost, NoMonitorError, parseHostPort, sendOne } from './tools/send';
import { parseWebSocketUrl, watch } from './tools/watch';
import { UnsupportedRuntimeError } from './uws';

/** sysexits.h EX_CONFIG: the configuration is unusable. */
export const EXIT_CONFIG = 78;
export const EXIT_FAILURE = 1;

/** The config file's contents, or defaults; undefined (exit code set) when it is unusable. */
function readConfig(path: string | undefined): LoadedConfig | undefined {
  if (path === undefined) return { config: DEFAULT_CONFIG, warnings: [] };
  try {
    return loadConfigFile(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`recodex-monitor: ${error.message}\n`);
    process.exitCode = EXIT_CONFIG;
    return undefined;
  }
}

/** Calls `stop` on SIGINT and SIGTERM; a second signal exits at once. */
function stopOnSignals(stop: (reason: string) => void): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled) {
      // A second signal: the admin does not want to wait.
      process.exit(EXIT_FAILURE);
    }
    signalled = true;
    stop(`received ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Prints what the admin must know about a runtime without uWS, then exits. */
function refuseRuntime(error: UnsupportedRuntimeError): never {
  process.stderr.write(`recodex-monitor: ${error.message}\n`);
  process.exit(EXIT_FAILURE);
}

async function serve(configPath: string | undefined): Promise<void> {
  const loaded = readConfig(configPath);
  if (loaded === undefined) return;
  const logger = createLogger(loaded.config.logger);
  for (const warning of loaded.warnings) logger.warning(warning);

  let monitor: Monitor;
  try {
    monitor = new Monitor({ config: loaded.config, logger });
  } catch (error) {
    if (!(error instanceof UnsupportedRuntimeError)) throw error;
    logger.critical(error.message);
    await logger.close();
    refuseRuntime(error);
  }

  monitor.onStopped((failed) => {
    void logger.close().then(() => process.exit(failed ? EXIT_FAILURE : 0));
  });
  stopOnSignals((reason) => void monitor.stop(reason));
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

function checkConfig(configPath: string): void {
  const loaded = readConfig(configPath);
  if (loaded === undefined) return;
  for (const warning of loaded.warnings) process.stderr.write(`recodex-monitor: ${warning}\n`);
  process.stdout.write(`config ${configPath}: OK\n`);
}

async function send(
  config: Config,
  zeromq: Endpoint | undefined,
  frames: string[],
  timeoutMs: number,
): Promise<void> {
  const endpoint = zeromq ?? { host: connectHost(config.zeromq.host), port: config.zeromq.port };
  try {
    await sendOne({ zeromq: endpoint, frames, timeoutMs });
  } catch (error) {
    if (!(error instanceof NoMonitorError)) throw error;
    process.stderr.write(`recodex-monitor send: ${error.message}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}

async function runWatch(config: Config, url: string | undefined, channel: string): Promise<void> {
  const { host, port } = config.websocket;
  const target = connectHost(host);
  const scheme = config.tls === undefined ? 'ws' : 'wss';
  const result = await watch({
    url: url ?? `${scheme}://${target.includes(':') ? `[${target}]` : target}:${port}/`,
    channel,
    out: process.stdout,
    err: process.stderr,
  });
  if (!result.finished) process.exitCode = EXIT_FAILURE;
}

async function runDemo(config: Config, stepMs: number, jobs: number): Promise<void> {
  const logger = createLogger(config.logger);
  let demo: Demo;
  try {
    demo = new Demo({ config, logger, stepMs, jobs, out: process.stdout });
  } catch (error) {
    if (!(error instanceof UnsupportedRuntimeError)) throw error;
    refuseRuntime(error);
  }
  stopOnSignals((reason) => void demo.stop(reason));
  try {
    await demo.run();
    await demo.play();
    await demo.stop('the demo played all its jobs');
  } catch (error) {
    logger.critical(`demo cannot start: ${(error as Error).message}`);
    await demo.stop('start-up failed');
    process.exitCode = EXIT_FAILURE;
  }
  await logger.close();
}

/** The config for a tool: `-c FILE` if given, else defaults. Undefined if unusable. */
function toolConfig(path: string | undefined): Config | undefined {
  const loaded = readConfig(path);
  for (const warning of loaded?.warnings ?? []) {
    process.stderr.write(`recodex-monitor: ${warning}\n`);
  }
  return loaded?.config;
}

async function main(argv: string[]): Promise<void> {
  await yargs(hideBin(argv))
    .scriptName('recodex-monitor')
    .usage('Relays ReCodEx job progress from the broker (ZeroMQ) to browsers (WebSocket).')
    .option('config', {
      alias: 'c',
      type: 'string',
      describe: 'YAML configuration file (built-in defaults without it)',
    })
    .command(
      '$0',
      'Run the monitor',
      (y) =>
        y
          .option('check-config', {
            type: 'boolean',
            describe: 'Validate the -c file and exit: 0 when usable, 78 when not',
          })
          .implies('check-config', 'config'),
      async (args) => {
        if (args.checkConfig === true) checkConfig(args.config as string);
        else await serve(args.config);
      },
    )
    .command(
      'send <channel> <command> [task_id] [task_state]',
      'Send one message to a running monitor, exactly as the broker does',
      (y) =>
        y
          .positional('channel', { type: 'string', demandOption: true, describe: 'Job id' })
          .positional('command', {
            type: 'string',
            demandOption: true,
            describe: 'STARTED, TASK, FINISHED, ...',
          })
          .positional('task_id', { type: 'string', describe: 'For TASK: the task id' })
          .positional('task_state', {
            type: 'string',
            describe: 'For TASK: COMPLETED, FAILED or SKIPPED',
          })
          .option('zeromq', {
            type: 'string',
            describe:
              "The monitor's ZeroMQ HOST:PORT (default: zeromq_uri of -c, or 127.0.0.1:7894)",
            coerce: parseHostPort,
          })
          .option('timeout', {
            type: 'number',
            default: 5000,
            describe: 'Milliseconds to wait for the monitor to answer',
          })
          .example('$0 send job-42 TASK compilation COMPLETED', ''),
      async (args) => {
        const config = toolConfig(args.config);
        if (config === undefined) return;
        const frames = [args.channel, args.command, args.task_id, args.task_state].filter(
          (frame): frame is string => frame !== undefined,
        );
        await send(config, args.zeromq, frames, args.timeout);
      },
    )
    .command(
      'watch <channel>',
      'Follow a channel like the web app, printing each message with a timestamp until it finishes',
      (y) =>
        y
          .positional('channel', { type: 'string', demandOption: true, describe: 'Job id' })
          .option('url', {
            type: 'string',
            describe:
              "The monitor's WebSocket URL (default: websocket_uri of -c, or ws://127.0.0.1:4567)",
            coerce: parseWebSocketUrl,
          }),
      async (args) => {
        const config = toolConfig(args.config);
        if (config !== undefined) await runWatch(config, args.url, args.channel);
      },
    )
    .command(
      'demo',
      'Run a monitor with a simulated broker and a page that shows the job progress',
      (y) =>
        y
          .option('step-ms', {
            type: 'number',
            default: 300,
            describe: 'Milliseconds between two messages of a job',
          })
          .option('jobs', {
            type: 'number',
            default: 1000,
            describe: 'Jobs to play before the demo ends (1000 take about 1.5 hours)',
          }),
      async (args) => {
        const config = toolConfig(args.config);
        if (config !== undefined) await runDemo(config, args.stepMs, args.jobs);
      },
    )
    .command(
      'bench',
      'measure the monitor against a naive pass-through, all on loopback',
      benchOptions,
      async (args) => {
        // Every socket and child is closed by then; exit at once, with the verdict.
        process.exit(await bench(args));
      },
    )
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .alias('version', 'V')
    .parseAsync();
}

main(process.argv).catch((error: unknown) => {
  process.stderr.write(`recodex-monitor: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(EXIT_FAILURE);
});
