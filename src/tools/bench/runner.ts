/**
 * Runs the scenarios against the monitor and, under the same load, against the naive floor;
 * each run on a freshly spawned process, warmed up first, monitor and floor in turns.
 * Collects the figures and the problems found in deliveries, and writes the JSON record and
 * the chart.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart } from './chart';
import { idle } from './idle';
import { latency, type LatencyFigures } from './latency';
import type { ScenarioContext } from './load';
import { clockTicksPerSecond } from './proc';
import { replay } from './replay';
import {
  type BenchResults,
  describeMachine,
  type Figure,
  figures,
  type Machine,
  type Pair,
} from './report';
import { medianRecord } from './stats';
import { externalTarget, spawnFloor, spawnMonitor, type Target } from './target';
import { throughput, type ThroughputFigures, type ThroughputLoad } from './throughput';
import { Problems } from './verify';

export const SCENARIOS = ['throughput', 'latency', 'idle', 'replay', 'log-level'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface BenchOptions {
  readonly channels: number;
  readonly subscribers: number;
  readonly messages: number;
  readonly rates: readonly number[];
  readonly rateSeconds: number;
  readonly idleConnections: number;
  readonly spreadSources: boolean;
  readonly replayMessages: number;
  readonly replayRuns: number;
  /** Runs of throughput, latency and log level per target; medians are reported. */
  readonly repeat: number;
  readonly scenarios: readonly ScenarioName[];
  /** Also measure the naive floor. */
  readonly floor: boolean;
  /** A running installation instead of a spawned monitor. */
  readonly external?: { readonly url: string; readonly zeromq: string; readonly pid?: number };
  /** Where the JSON and the SVG go; nothing is written when undefined. */
  readonly outDir?: string;
}

/** Every run of a repeated scenario, per target. */
export type Runs = Record<string, { readonly [target: string]: readonly unknown[] }>;

export interface BenchReport {
  readonly ok: boolean;
  readonly problemCount: number;
  readonly problems: readonly string[];
  /** Scenarios left out, with the reason. */
  readonly skipped: readonly string[];
  readonly startedAt: string;
  readonly seconds: number;
  readonly machine: Machine;
  readonly target: string;
  readonly options: BenchOptions;
  /** Medians over the repeated runs. */
  readonly results: BenchResults;
  readonly runs: Runs;
  readonly figures: readonly Figure[];
}

export interface BenchOutcome {
  readonly report: BenchReport;
  /** Files written. */
  readonly files: readonly string[];
}

type Factory = () => Promise<Target>;
type Scenario<T> = (target: Target, context: ScenarioContext) => Promise<T>;

export async function runBench(
  options: BenchOptions,
  progress: (line: string) => void,
): Promise<BenchOutcome> {
  const started = new Date();
  const problems = new Problems();
  const skipped: string[] = [];
  const runs: Runs = {};
  const ticks = clockTicksPerSecond();
  const run = randomBytes(3).toString('hex');
  const external = options.external;
  const ours: Factory = () =>
    external === undefined
      ? spawnMonitor('info', ticks)
      : Promise.resolve(externalTarget(external.url, external.zeromq, external.pid, ticks));
  const debug: Factory = () => spawnMonitor('debug', ticks);
  const floor: Factory = () => spawnFloor(ticks);
  const load: ThroughputLoad = options;
  const warmUp: ThroughputLoad = {
    channels: Math.min(10, options.channels),
    subscribers: options.subscribers,
    messages: Math.min(200, options.messages),
  };
  let serial = 0;

  /** One scenario on one fresh target; a failure is a problem, never an abort. */
  const measure = async <T>(
    scenario: string,
    factory: Factory,
    body: Scenario<T>,
  ): Promise<T | null> => {
    let target: Target | undefined;
    try {
      target = await factory();
      progress(`${scenario}: ${target.name}`);
      const context = (part: string): ScenarioContext => ({
        problems,
        prefix: `bench-${run}-${serial++}-${part}`,
        progress,
      });
      await throughput(target, warmUp, context('warmup'));
      const result = await body(target, context(scenario));
      const died = target.died();
      if (died !== undefined) problems.add(`${scenario}: ${died}`);
      return result;
    } catch (error) {
      const who = target?.name ?? 'a target that did not start';
      problems.add(`${scenario} on ${who}: ${(error as Error).message}`);
      return null;
    } finally {
      await target?.stop();
    }
  };

  /** Targets in turns, `times` runs each, so that passing noise falls on all of them. */
  const repeated = async <T>(
    scenario: string,
    targets: Record<string, Factory>,
    times: number,
    body: Scenario<T>,
    combine: (all: T[]) => T,
  ): Promise<Record<string, T | null>> => {
    const all: Record<string, T[]> = {};
    for (const name of Object.keys(targets)) all[name] = [];
    for (let r = 0; r < times; r++) {
      for (const [name, factory] of Object.entries(targets)) {
        const result = await measure(scenario, factory, body);
        if (result !== null) all[name].push(result);
      }
    }
    runs[scenario] = all;
    const combined: Record<string, T | null> = {};
    for (const [name, list] of Object.entries(all)) {
      combined[name] = list.length === 0 ? null : combine(list);
    }
    return combined;
  };
  const pair = async <T>(
    scenario: string,
    times: number,
    body: Scenario<T>,
    combine: (all: T[]) => T,
  ): Promise<Pair<T>> => {
    const targets: Record<string, Factory> = options.floor
      ? { monitor: ours, floor }
      : { monitor: ours };
    const result = await repeated(scenario, targets, times, body, combine);
    return { monitor: result.monitor ?? null, floor: result.floor ?? null };
  };
  const single = <T>(all: T[]): T => all[0];
  const latencyMedians = (all: LatencyFigures[][]): LatencyFigures[] =>
    options.rates.map((rate) =>
      medianRecord(all.map((list) => list.filter((r) => r.rate === rate)[0])),
    );

  const results: BenchResults = {};
  const wanted = new Set(options.scenarios);
  const throughputBody: Scenario<ThroughputFigures> = (t, c) => throughput(t, load, c);
  if (wanted.has('throughput')) {
    results.throughput = await pair('throughput', options.repeat, throughputBody, medianRecord);
  }
  if (wanted.has('latency')) {
    const latencyLoad = { ...options, seconds: options.rateSeconds };
    results.latency = await pair(
      'latency',
      options.repeat,
      (t, c) => latency(t, latencyLoad, c),
      latencyMedians,
    );
  }
  if (wanted.has('idle')) {
    const idleLoad = { connections: options.idleConnections, spreadSources: options.spreadSources };
    results.idle = {
      ...(await pair('idle', 1, (t, c) => idle(t, idleLoad, c), single)),
      connections: options.idleConnections,
    };
  }
  if (wanted.has('replay')) {
    const replayLoad = { messages: options.replayMessages, runs: options.replayRuns };
    results.replay = await pair('replay', 1, (t, c) => replay(t, replayLoad, c), single);
  }
  if (wanted.has('log-level')) {
    if (external !== undefined) {
      skipped.push("log-level: a running installation's level is its own config's");
    } else {
      // Info again beside debug, in turns, so that the ratio compares like with like.
      const levels = await repeated(
        'log-level',
        { info: ours, debug },
        options.repeat,
        throughputBody,
        medianRecord,
      );
      results.logLevel = {
        debug: levels.debug ?? null,
        info: levels.info ?? null,
        floor: results.throughput?.floor ?? null,
      };
    }
  }

  const report: BenchReport = {
    ok: problems.count === 0,
    problemCount: problems.count,
    problems: problems.list(),
    skipped,
    startedAt: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    machine: describeMachine(),
    target: external === undefined ? 'spawned' : `${external.url} ${external.zeromq}`,
    options,
    results,
    runs,
    figures: figures(results),
  };
  return { report, files: options.outDir === undefined ? [] : write(report, options.outDir) };
}

function write(report: BenchReport, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const stamp = report.startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const json = join(outDir, `bench-${stamp}.json`);
  const svg = join(outDir, 'bench.svg');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const date = report.startedAt.slice(0, 10);
  writeFileSync(svg, renderChart({ results: report.results, machine: report.machine, date }));
  return [json, svg];
}
