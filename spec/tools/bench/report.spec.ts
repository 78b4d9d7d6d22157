import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderChart } from '../../../src/tools/bench/chart';
import type { LatencyFigures } from '../../../src/tools/bench/latency';
import {
  type BenchResults,
  describeMachine,
  figures,
  formatMarkdown,
  formatTable,
} from '../../../src/tools/bench/report';
import type { ThroughputFigures } from '../../../src/tools/bench/throughput';
import { assertWellFormedSvg } from '../../helpers/svg';

const run = (cpu: number | null): ThroughputFigures => ({
  deliveries: 1000,
  seconds: 1,
  deliveriesPerSecond: 1000,
  cpuMicrosPerDelivery: cpu,
});
const lat = (rate: number, p99Ms: number): LatencyFigures => ({
  rate,
  achievedRate: rate,
  samples: 100,
  p50Ms: p99Ms / 4,
  p99Ms,
  maxMs: p99Ms * 2,
  cpuMicrosPerDelivery: 10,
});

const results: BenchResults = {
  throughput: { monitor: run(8), floor: run(10) },
  latency: { monitor: [lat(1000, 2), lat(20000, 40)], floor: [lat(1000, 1), lat(20000, 80)] },
  idle: {
    monitor: {
      connections: 10,
      held: 10,
      rssBeforeBytes: 0,
      rssHalfBytes: 5000,
      rssAfterBytes: 30000,
      bytesPerConnection: 5000,
      bytesPerConnectionFromStart: 3000,
      finishSeconds: 0.1,
    },
    floor: null,
    connections: 10,
  },
  logLevel: { debug: run(16), info: run(8), floor: run(10) },
};

describe('bench figures', () => {
  const rows = figures(results);
  const row = (name: string) => {
    const found = rows.find((r) => r.name === name);
    assert.ok(found, `no row ${name}`);
    return found;
  };

  it('divides ours by the floor and checks the targets', () => {
    assert.deepEqual(
      { ratio: row('CPU per delivery').ratio, met: row('CPU per delivery').met },
      { ratio: 0.8, met: true },
    );
    assert.equal(row('p99 @ 1000/s').ratio, 2);
    assert.equal(row('p99 @ 1000/s').met, true);
    // The 5 ms target holds up to 10 000/s only.
    assert.equal(row('p99 @ 20000/s').target, null);
    assert.equal(row('RSS per idle connection (marginal)').met, false);
    assert.equal(row('RSS per idle connection (marginal)').ratio, null);
    assert.equal(row('debug / info CPU per delivery').ours, 2);
    assert.equal(row('debug / info CPU per delivery').met, false);
    assert.equal(row('CPU per delivery at debug').ratio, 1.6);
  });

  it('says n/a where a figure is missing', () => {
    const missing = figures({ throughput: { monitor: run(null), floor: run(10) } });
    assert.equal(missing[0].ours, null);
    assert.equal(missing[0].met, null);
    assert.match(formatTable(missing), /CPU per delivery +n\/a +10\.0 µs/);
  });

  it('prints an aligned table and a Markdown table with a row per figure', () => {
    const table = formatTable(rows).split('\n');
    assert.equal(table.length, rows.length + 2);
    assert.match(table[0], /^scenario +figure +ours +floor +ours\/floor +target +met$/);
    const markdown = formatMarkdown(rows).split('\n');
    assert.equal(markdown.length, rows.length + 2);
    assert.ok(markdown.every((line) => line.startsWith('|') && line.endsWith('|')));
  });
});

describe('bench chart', () => {
  const machine = { ...describeMachine(), cpu: 'Fancy <CPU> & "co"' };

  it('draws both panels as well-formed SVG, escaping text', () => {
    const svg = renderChart({ results, machine, date: '2026-12-03' });
    assertWellFormedSvg(svg);
    assert.match(svg, /Fancy &#60;CPU&#62; &#38; &#34;co&#34;/);
    // Four latency series and three CPU bars.
    assert.equal((svg.match(/<polyline /g) ?? []).length, 4);
    assert.match(svg, />8\.00 µs</);
    assert.match(svg, />16\.0 µs</);
    assert.match(svg, />debug costs 2\.00x info in runs side by side</);
  });

  it('says so when there is nothing to draw', () => {
    const svg = renderChart({ results: {}, machine, date: '2026-12-03' });
    assertWellFormedSvg(svg);
    assert.match(svg, /no latency figures/);
    assert.match(svg, /no CPU figures/);
  });
});
