/**
 * The bench's findings: every figure of ours beside the floor's, their ratio and the target
 * it answers to; as a table for people and as JSON for the record.
 */
import { availableParallelism, cpus, release, totalmem, type as osType } from 'node:os';
import type { IdleFigures } from './idle';
import type { LatencyFigures } from './latency';
import type { ReplayFigures } from './replay';
import type { ThroughputFigures } from './throughput';

/** Figures of the monitor and of the naive floor under the same load; null when not run. */
export interface Pair<T> {
  readonly monitor: T | null;
  readonly floor: T | null;
}

export interface BenchResults {
  throughput?: Pair<ThroughputFigures>;
  latency?: Pair<LatencyFigures[]>;
  idle?: Pair<IdleFigures> & { readonly connections: number };
  replay?: Pair<ReplayFigures>;
  /** The monitor's throughput at level debug, beside its own at info and the floor's. */
  logLevel?: {
    readonly debug: ThroughputFigures | null;
    readonly info: ThroughputFigures | null;
    readonly floor: ThroughputFigures | null;
  };
}

/** One row of the table. Ratios are ours divided by the floor's. */
export interface Figure {
  readonly scenario: string;
  readonly name: string;
  readonly unit: string;
  readonly ours: number | null;
  readonly floor: number | null;
  readonly ratio: number | null;
  readonly target: string | null;
  /** Whether ours meets the target; null when there is no target or no figure. */
  readonly met: boolean | null;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
}

export function describeMachine(): Machine {
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${osType()} ${release()}`,
    node: process.version,
  };
}

export function machineLine(machine: Machine): string {
  return `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node.js ${machine.node}`;
}

type Check = (value: number) => boolean;

function figure(
  scenario: string,
  name: string,
  unit: string,
  ours: number | null | undefined,
  floor: number | null | undefined,
  target?: [text: string, check: Check],
): Figure {
  const o = finite(ours);
  const f = finite(floor);
  return {
    scenario,
    name,
    unit,
    ours: o,
    floor: f,
    ratio: o !== null && f !== null && f !== 0 ? o / f : null,
    target: target?.[0] ?? null,
    met: target === undefined || o === null ? null : target[1](o),
  };
}

function finite(value: number | null | undefined): number | null {
  return value === null || value === undefined || !Number.isFinite(value) ? null : value;
}

/** The rows of the table, in scenario order. */
export function figures(results: BenchResults): Figure[] {
  const rows: Figure[] = [];
  const t = results.throughput;
  if (t !== undefined) {
    const cpu = figure(
      'throughput',
      'CPU per delivery',
      'µs',
      t.monitor?.cpuMicrosPerDelivery,
      t.floor?.cpuMicrosPerDelivery,
    );
    // The target is on the ratio: no more CPU per delivery than the naive floor.
    rows.push({ ...cpu, target: '<= 1.0x floor', met: cpu.ratio === null ? null : cpu.ratio <= 1 });
    rows.push(
      figure(
        'throughput',
        'deliveries per second',
        '/s',
        t.monitor?.deliveriesPerSecond,
        t.floor?.deliveriesPerSecond,
      ),
    );
  }
  const l = results.latency;
  if (l !== undefined) {
    const rates = (l.monitor ?? l.floor ?? []).map((r) => r.rate);
    for (const rate of rates) {
      const ours = l.monitor?.find((r) => r.rate === rate);
      const floor = l.floor?.find((r) => r.rate === rate);
      const at = `@ ${rate}/s`;
      rows.push(figure('latency', `p50 ${at}`, 'ms', ours?.p50Ms, floor?.p50Ms));
      rows.push(
        figure(
          'latency',
          `p99 ${at}`,
          'ms',
          ours?.p99Ms,
          floor?.p99Ms,
          rate <= 10_000 ? ['< 5 ms', (v) => v < 5] : undefined,
        ),
      );
      rows.push(figure('latency', `max ${at}`, 'ms', ours?.maxMs, floor?.maxMs));
      rows.push(
        figure(
          'latency',
          `CPU per delivery ${at}`,
          'µs',
          ours?.cpuMicrosPerDelivery,
          floor?.cpuMicrosPerDelivery,
        ),
      );
    }
  }
  const i = results.idle;
  if (i !== undefined) {
    const wanted = i.connections;
    rows.push(
      figure(
        'idle',
        'RSS per idle connection (marginal)',
        'B',
        i.monitor?.bytesPerConnection,
        i.floor?.bytesPerConnection,
        ['<= 2048 B', (v) => v <= 2048],
      ),
    );
    rows.push(
      figure(
        'idle',
        'RSS per idle connection, from start',
        'B',
        i.monitor?.bytesPerConnectionFromStart,
        i.floor?.bytesPerConnectionFromStart,
      ),
    );
    rows.push(
      figure('idle', 'idle connections held', '', i.monitor?.held, i.floor?.held, [
        `= ${wanted}`,
        (v) => v === wanted,
      ]),
    );
    rows.push(
      figure(
        'idle',
        'FINISHED to all, until all closed',
        's',
        i.monitor?.finishSeconds,
        i.floor?.finishSeconds,
      ),
    );
  }
  const r = results.replay;
  if (r !== undefined) {
    const messages = r.monitor?.messages ?? r.floor?.messages ?? 0;
    rows.push(
      figure(
        'replay',
        `replay of ${messages} messages (median)`,
        'ms',
        r.monitor?.medianMs,
        r.floor?.medianMs,
        messages >= 10_000 ? ['< 100 ms', (v) => v < 100] : undefined,
      ),
    );
    rows.push(figure('replay', 'replay, worst run', 'ms', r.monitor?.worstMs, r.floor?.worstMs));
  }
  const g = results.logLevel;
  if (g !== undefined) {
    const debug = g.debug?.cpuMicrosPerDelivery;
    const info = g.info?.cpuMicrosPerDelivery;
    rows.push(
      figure('log level', 'CPU per delivery at debug', 'µs', debug, g.floor?.cpuMicrosPerDelivery),
    );
    rows.push(
      figure(
        'log level',
        'debug / info CPU per delivery',
        'x',
        debug !== null && debug !== undefined && info !== null && info !== undefined && info > 0
          ? debug / info
          : null,
        null,
        ['<= 1.5x', (v) => v <= 1.5],
      ),
    );
  }
  return rows;
}

/** A figure for people: three significant digits, no exponent. */
export function formatNumber(value: number | null, unit = ''): string {
  if (value === null) return 'n/a';
  if (unit === '' && Number.isInteger(value)) return String(value);
  const size = Math.abs(value);
  const text = value.toFixed(size >= 100 ? 0 : size >= 10 ? 1 : size >= 1 ? 2 : 3);
  if (unit === '') return text;
  return unit === 'x' ? `${text}x` : `${text} ${unit}`;
}

/** The figures as an aligned plain-text table. */
export function formatTable(rows: readonly Figure[]): string {
  const header = ['scenario', 'figure', 'ours', 'floor', 'ours/floor', 'target', 'met'];
  const body = rows.map((row) => [
    row.scenario,
    row.name,
    formatNumber(row.ours, row.unit),
    formatNumber(row.floor, row.unit),
    row.ratio === null ? '' : `${row.ratio.toFixed(2)}x`,
    row.target ?? '',
    row.met === null ? '' : row.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((line) => line[c].length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => cell.padEnd(widths[c]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/** The same table in Markdown, for the README. */
export function formatMarkdown(rows: readonly Figure[]): string {
  const lines = [
    '| scenario | figure | ours | floor | ours/floor | target | met |',
    '|---|---|---:|---:|---:|---|---|',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.scenario} | ${row.name} | ${formatNumber(row.ours, row.unit)} | ` +
        `${formatNumber(row.floor, row.unit)} | ${row.ratio === null ? '' : `${row.ratio.toFixed(2)}x`} | ` +
        `${row.target ?? ''} | ${row.met === null ? '' : row.met ? 'yes' : '**no**'} |`,
    );
  }
  return lines.join('\n');
}
