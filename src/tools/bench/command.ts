/**
 * `recodex-monitor bench`: the benchmark as a subcommand, so that an admin can also point it
 * at a running installation. Prints the table, writes the JSON and the chart, and exits
 * non-zero when any delivery went wrong.
 */
import type { Argv } from 'yargs';
import { formatMarkdown, formatTable, machineLine } from './report';
import { type BenchOptions, runBench, SCENARIOS, type ScenarioName } from './runner';

export function benchOptions(yargs: Argv) {
  return yargs
    .usage(
      '$0 bench [options]\n\nMeasures the monitor against a naive pass-through under the same load ' +
        '(all on loopback) and checks every delivery.',
    )
    .option('channels', { type: 'number', default: 100, describe: 'throughput: channels (C)' })
    .option('subscribers', { type: 'number', default: 2, describe: 'subscribers a channel (S)' })
    .option('messages', {
      type: 'number',
      default: 1000,
      describe: 'throughput: messages a channel (M)',
    })
    .option('rates', {
      type: 'string',
      default: '1000,2000,5000,10000,20000',
      describe: 'latency: messages in per second, comma-separated',
    })
    .option('rate-seconds', {
      type: 'number',
      default: 2,
      describe: 'latency: seconds at each rate',
    })
    .option('idle', { type: 'number', default: 10_000, describe: 'idle connections (K)' })
    .option('spread-sources', {
      type: 'boolean',
      default: false,
      describe: 'spread client addresses over 127.0.0.0/8 (for more than ~28 000 connections)',
    })
    .option('replay', {
      type: 'number',
      default: 10_000,
      describe: 'replay: messages in the channel',
    })
    .option('replay-runs', {
      type: 'number',
      default: 5,
      describe: 'replay: late subscribers timed',
    })
    .option('repeat', {
      type: 'number',
      default: 3,
      describe: 'runs of throughput, latency and log level per target (medians reported)',
    })
    .option('scenarios', {
      type: 'string',
      default: SCENARIOS.join(','),
      describe: 'which scenarios, comma-separated',
    })
    .option('floor', { type: 'boolean', default: true, describe: 'also measure the naive floor' })
    .option('url', { type: 'string', describe: "a running monitor's WebSocket URL (loopback)" })
    .option('zeromq', { type: 'string', describe: 'its ZeroMQ address, e.g. tcp://127.0.0.1:7894' })
    .option('pid', { type: 'number', describe: 'its process id, for CPU and memory figures' })
    .option('markdown', {
      type: 'boolean',
      default: false,
      describe: 'print the table in Markdown (as in the README)',
    })
    .option('out', {
      type: 'string',
      default: 'bench-results',
      describe: 'directory for the JSON and the SVG ("" writes nothing)',
    })
    .check((args) => {
      if ((args.url === undefined) !== (args.zeromq === undefined)) {
        throw new Error('--url and --zeromq go together');
      }
      if (args.pid !== undefined && args.url === undefined) throw new Error('--pid needs --url');
      for (const name of ['channels', 'subscribers', 'idle', 'replay-runs', 'repeat'] as const) {
        if (!isPositiveInteger(args[name]))
          throw new Error(`--${name} must be a positive whole number`);
      }
      for (const name of ['messages', 'replay'] as const) {
        if (!isPositiveInteger(args[name]) || args[name] < 2) {
          throw new Error(`--${name} must be a whole number of at least 2 (tasks, then FINISHED)`);
        }
      }
      if (!(args['rate-seconds'] > 0)) throw new Error('--rate-seconds must be positive');
      if (parseRates(args.rates) === undefined) {
        throw new Error('--rates must be positive whole numbers, comma-separated');
      }
      if (parseScenarios(args.scenarios) === undefined) {
        throw new Error(`--scenarios must be some of ${SCENARIOS.join(',')}`);
      }
      return true;
    });
}

type BenchArgs = Awaited<ReturnType<typeof benchOptions>['argv']>;

/** Runs the bench; resolves with the process exit code. */
export async function bench(args: BenchArgs): Promise<number> {
  const options: BenchOptions = {
    channels: args.channels,
    subscribers: args.subscribers,
    messages: args.messages,
    rates: parseRates(args.rates) ?? [],
    rateSeconds: args['rate-seconds'],
    idleConnections: args.idle,
    spreadSources: args['spread-sources'],
    replayMessages: args.replay,
    replayRuns: args['replay-runs'],
    repeat: args.repeat,
    scenarios: parseScenarios(args.scenarios) ?? [],
    floor: args.floor,
    external:
      args.url === undefined || args.zeromq === undefined
        ? undefined
        : { url: args.url, zeromq: args.zeromq, pid: args.pid },
    outDir: args.out === '' ? undefined : args.out,
  };
  const { report, files } = await runBench(options, (line) => process.stderr.write(`${line}\n`));
  const table = args.markdown ? formatMarkdown(report.figures) : formatTable(report.figures);
  process.stdout.write(`\n${machineLine(report.machine)}\n\n${table}\n\n`);
  for (const line of report.skipped) process.stdout.write(`skipped ${line}\n`);
  for (const file of files) process.stdout.write(`wrote ${file}\n`);
  if (!report.ok) {
    process.stderr.write(`\nFAILED: ${report.problemCount} problem(s):\n`);
    for (const problem of report.problems) process.stderr.write(`  ${problem}\n`);
    return 1;
  }
  process.stdout.write(`every delivery verified, in ${report.seconds.toFixed(0)} s\n`);
  return 0;
}

function isPositiveInteger(value: number): boolean {
  return Number.isInteger(value) && value > 0;
}

function parseRates(text: string): number[] | undefined {
  const rates = text.split(',').map((r) => Number(r.trim()));
  return rates.length > 0 && rates.every(isPositiveInteger) ? rates : undefined;
}

function parseScenarios(text: string): ScenarioName[] | undefined {
  const names = text.split(',').map((s) => s.trim());
  const known = (name: string): name is ScenarioName =>
    (SCENARIOS as readonly string[]).includes(name);
  return names.length > 0 && names.every(known) ? names : undefined;
}
