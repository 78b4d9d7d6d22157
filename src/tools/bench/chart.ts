/**
 * The bench's chart as a small hand-written SVG: latency against rate on the left (log
 * scale), CPU per delivery as bars on the right, the machine underneath.
 */
import type { LatencyFigures } from './latency';
import { type BenchResults, type Machine, machineLine } from './report';

const WIDTH = 880;
const HEIGHT = 400;
const OURS = '#1f6fb2';
const FLOOR = '#8a8a8a';
const DEBUG = '#d9822b';
const TARGET = '#c0392b';

export interface ChartInput {
  readonly results: BenchResults;
  readonly machine: Machine;
  readonly date: string;
}

export function renderChart(input: ChartInput): string {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" ` +
      `viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    latencyPanel(input.results.latency?.monitor ?? [], input.results.latency?.floor ?? []),
    cpuPanel(input.results),
    text(WIDTH / 2, HEIGHT - 12, `${input.date} — ${machineLine(input.machine)}`, {
      anchor: 'middle',
      size: 11,
      fill: '#555555',
    }),
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}

interface Box {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

const LATENCY_BOX: Box = { left: 60, top: 50, width: 440, height: 270 };
const CPU_BOX: Box = { left: 610, top: 50, width: 240, height: 270 };

function latencyPanel(ours: readonly LatencyFigures[], floor: readonly LatencyFigures[]): string {
  const box = LATENCY_BOX;
  const out = [
    text(box.left, 28, 'End-to-end latency vs. rate (2 subscribers a channel)', { weight: 'bold' }),
  ];
  const rates = [...new Set([...ours, ...floor].map((r) => r.rate))].sort((a, b) => a - b);
  const values = [...ours, ...floor]
    .flatMap((r) => [r.p50Ms, r.p99Ms])
    .filter((v) => Number.isFinite(v) && v > 0);
  out.push(frame(box));
  if (rates.length === 0 || values.length === 0) {
    out.push(
      text(box.left + box.width / 2, box.top + box.height / 2, 'no latency figures', {
        anchor: 'middle',
      }),
    );
    return out.join('\n');
  }
  // Decades that cover the data and the 5 ms target.
  const low = Math.floor(Math.log10(Math.min(...values, 5)));
  const high = Math.ceil(Math.log10(Math.max(...values, 5)));
  const y = (ms: number): number =>
    box.top + box.height - ((Math.log10(ms) - low) / Math.max(1, high - low)) * box.height;
  const x = (index: number): number =>
    box.left +
    (rates.length === 1 ? box.width / 2 : (index / (rates.length - 1)) * (box.width - 40) + 20);
  for (let decade = low; decade <= high; decade++) {
    const ms = 10 ** decade;
    out.push(line(box.left, y(ms), box.left + box.width, y(ms), '#e5e5e5'));
    out.push(text(box.left - 6, y(ms) + 4, formatMs(ms), { anchor: 'end', size: 11 }));
  }
  rates.forEach((rate, index) => {
    out.push(
      text(x(index), box.top + box.height + 16, `${rate / 1000}k`, { anchor: 'middle', size: 11 }),
    );
  });
  out.push(
    text(box.left + box.width / 2, box.top + box.height + 34, 'messages in per second', {
      anchor: 'middle',
      size: 11,
    }),
  );
  out.push(
    text(16, box.top + box.height / 2, 'ms (log)', { anchor: 'middle', size: 11, rotate: true }),
  );
  out.push(line(box.left, y(5), box.left + box.width, y(5), TARGET, '2 4'));
  out.push(
    text(box.left + box.width - 4, y(5) - 4, 'p99 target 5 ms', {
      anchor: 'end',
      size: 10,
      fill: TARGET,
    }),
  );
  const series = (
    data: readonly LatencyFigures[],
    pick: (r: LatencyFigures) => number,
    colour: string,
    dash?: string,
  ): string => {
    const points = rates
      .map((rate, index) => {
        const value = data.find((r) => r.rate === rate);
        return value === undefined || !(pick(value) > 0)
          ? null
          : `${x(index).toFixed(1)},${y(pick(value)).toFixed(1)}`;
      })
      .filter((p): p is string => p !== null);
    if (points.length === 0) return '';
    const dots = points.map((p) => {
      const [cx, cy] = p.split(',');
      return `<circle cx="${cx}" cy="${cy}" r="3" fill="${colour}"/>`;
    });
    return [
      `<polyline points="${points.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"${dash === undefined ? '' : ` stroke-dasharray="${dash}"`}/>`,
      ...dots,
    ].join('\n');
  };
  out.push(series(floor, (r) => r.p50Ms, FLOOR, '5 4'));
  out.push(series(floor, (r) => r.p99Ms, FLOOR));
  out.push(series(ours, (r) => r.p50Ms, OURS, '5 4'));
  out.push(series(ours, (r) => r.p99Ms, OURS));
  out.push(
    legend(box.left + 10, box.top + 14, [
      ['monitor p99', OURS, undefined],
      ['monitor p50', OURS, '5 4'],
      ['floor p99', FLOOR, undefined],
      ['floor p50', FLOOR, '5 4'],
    ]),
  );
  return out.join('\n');
}

function cpuPanel(results: BenchResults): string {
  const box = CPU_BOX;
  const out = [text(box.left, 28, 'CPU time per delivered message', { weight: 'bold' })];
  const bars: [label: string, value: number | null | undefined, colour: string][] = [
    [
      'floor',
      results.throughput?.floor?.cpuMicrosPerDelivery ??
        results.logLevel?.floor?.cpuMicrosPerDelivery,
      FLOOR,
    ],
    [
      'monitor',
      results.throughput?.monitor?.cpuMicrosPerDelivery ??
        results.logLevel?.info?.cpuMicrosPerDelivery,
      OURS,
    ],
    ['monitor debug', results.logLevel?.debug?.cpuMicrosPerDelivery, DEBUG],
  ];
  const shown = bars.filter(
    (bar): bar is [string, number, string] => typeof bar[1] === 'number' && Number.isFinite(bar[1]),
  );
  out.push(frame(box));
  if (shown.length === 0) {
    out.push(
      text(box.left + box.width / 2, box.top + box.height / 2, 'no CPU figures', {
        anchor: 'middle',
      }),
    );
    return out.join('\n');
  }
  const top = Math.max(...shown.map((bar) => bar[1])) * 1.15;
  const slot = box.width / shown.length;
  shown.forEach(([label, value, colour], index) => {
    const height = (value / top) * box.height;
    const left = box.left + index * slot + slot * 0.2;
    const barTop = box.top + box.height - height;
    out.push(
      `<rect x="${left.toFixed(1)}" y="${barTop.toFixed(1)}" width="${(slot * 0.6).toFixed(1)}" height="${height.toFixed(1)}" fill="${colour}"/>`,
    );
    out.push(
      text(left + slot * 0.3, barTop - 5, `${value.toFixed(value >= 10 ? 1 : 2)} µs`, {
        anchor: 'middle',
        size: 11,
      }),
    );
    out.push(
      text(left + slot * 0.3, box.top + box.height + 16, label, { anchor: 'middle', size: 11 }),
    );
  });
  // The debug bar comes from its own runs: its cost is compared with info runs beside it.
  const debug = results.logLevel?.debug?.cpuMicrosPerDelivery;
  const info = results.logLevel?.info?.cpuMicrosPerDelivery;
  if (typeof debug === 'number' && typeof info === 'number' && info > 0) {
    const caption = `debug costs ${(debug / info).toFixed(2)}x info in runs side by side`;
    out.push(
      text(box.left + box.width / 2, box.top + box.height + 34, caption, {
        anchor: 'middle',
        size: 10,
        fill: '#555555',
      }),
    );
  }
  return out.join('\n');
}

function frame(box: Box): string {
  return `<rect x="${box.left}" y="${box.top}" width="${box.width}" height="${box.height}" fill="none" stroke="#999999"/>`;
}

function line(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  colour: string,
  dash?: string,
): string {
  return (
    `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${colour}"` +
    `${dash === undefined ? '' : ` stroke-dasharray="${dash}"`}/>`
  );
}

function legend(
  left: number,
  top: number,
  entries: [label: string, colour: string, dash: string | undefined][],
): string {
  return entries
    .map(([label, colour, dash], index) => {
      const y = top + index * 16;
      return `${line(left, y - 4, left + 24, y - 4, colour, dash).replace('/>', ' stroke-width="2"/>')}\n${text(left + 30, y, label, { size: 11 })}`;
    })
    .join('\n');
}

interface TextStyle {
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly size?: number;
  readonly weight?: 'bold';
  readonly fill?: string;
  readonly rotate?: boolean;
}

function text(x: number, y: number, content: string, style: TextStyle = {}): string {
  const attributes = [
    `x="${x.toFixed(1)}"`,
    `y="${y.toFixed(1)}"`,
    style.anchor === undefined ? '' : `text-anchor="${style.anchor}"`,
    style.size === undefined ? '' : `font-size="${style.size}"`,
    style.weight === undefined ? '' : `font-weight="${style.weight}"`,
    style.fill === undefined ? '' : `fill="${style.fill}"`,
    style.rotate === true ? `transform="rotate(-90 ${x.toFixed(1)} ${y.toFixed(1)})"` : '',
  ].filter((a) => a !== '');
  return `<text ${attributes.join(' ')}>${escapeXml(content)}</text>`;
}

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function formatMs(ms: number): string {
  return ms >= 1 ? `${ms}` : ms.toPrecision(1);
}
