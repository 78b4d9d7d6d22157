/**
 * The bench as a tool: on a tiny load it runs every scenario against the built monitor and
 * the naive floor (real child processes, real sockets), verifies every delivery and writes
 * well-formed JSON and SVG; against a target that loses messages it reports failure.
 * Correctness of the tool only: no figure is asserted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { Router } from 'zeromq';
import { type BenchOptions, type BenchReport, runBench } from '../../../src/tools/bench/runner';
import { FINISHED_TEXT } from '../../../src/tools/bench/script';
import { assertWellFormedSvg } from '../../helpers/svg';

const TINY: BenchOptions = {
  channels: 2,
  subscribers: 2,
  messages: 20,
  rates: [200],
  rateSeconds: 0.2,
  idleConnections: 4,
  spreadSources: true,
  replayMessages: 50,
  replayRuns: 2,
  repeat: 1,
  scenarios: ['throughput', 'latency', 'idle', 'replay', 'log-level'],
  floor: true,
};

describe('bench on a tiny load', { timeout: 120_000 }, () => {
  let out: string;
  let report: BenchReport;
  let files: readonly string[];
  const lines: string[] = [];

  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'bench-spec-'));
    ({ report, files } = await runBench({ ...TINY, outDir: out }, (line) => lines.push(line)));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('verifies every delivery of every scenario on both targets', () => {
    assert.deepEqual(report.problems, []);
    assert.equal(report.ok, true);
    const { results } = report;
    for (const target of ['monitor', 'floor'] as const) {
      // Every subscriber got every message of its channel.
      assert.equal(results.throughput?.[target]?.deliveries, 2 * 2 * 20, target);
      assert.equal(results.latency?.[target]?.[0].rate, 200, target);
      assert.ok((results.latency?.[target]?.[0].samples ?? 0) > 0, target);
      assert.equal(results.idle?.[target]?.held, 4, target);
      assert.equal(results.replay?.[target]?.runs, 2, target);
    }
    assert.ok(results.logLevel?.debug !== null && results.logLevel?.info !== null);
    assert.ok(lines.includes('log-level: monitor (debug)'), lines.join('\n'));
  });

  it('reads CPU and memory of the spawned processes', () => {
    const idle = report.results.idle?.monitor;
    assert.ok(idle?.rssBeforeBytes !== null && (idle?.rssBeforeBytes ?? 0) > 1_000_000);
    assert.notEqual(report.results.throughput?.monitor?.cpuMicrosPerDelivery, null);
  });

  it('writes the report as JSON and the chart as SVG', () => {
    assert.equal(files.length, 2);
    const json = files.find((f) => f.endsWith('.json')) as string;
    assert.match(json, /bench-\d{8}T\d{6}Z\.json$/);
    assert.deepEqual(JSON.parse(readFileSync(json, 'utf8')), JSON.parse(JSON.stringify(report)));
    const svg = readFileSync(files.find((f) => f.endsWith('.svg')) as string, 'utf8');
    assertWellFormedSvg(svg);
    assert.match(svg, /End-to-end latency/);
  });

  it('has a figure row for every scenario', () => {
    const scenarios = new Set(report.figures.map((f) => f.scenario));
    assert.deepEqual([...scenarios], ['throughput', 'latency', 'idle', 'replay', 'log level']);
  });
});

describe('bench against a monitor that loses messages', { timeout: 60_000 }, () => {
  // A stand-in that swallows every broker message and answers each subscriber with FINISHED.
  const router = new Router({ routingId: 'recodex-monitor', linger: 0 });
  let wss: WebSocketServer;
  let zeromq: string;
  let url: string;

  before(async () => {
    await router.bind('tcp://127.0.0.1:*');
    zeromq = router.lastEndpoint as string;
    // Every message is dropped on purpose; the loop ends when the socket closes.
    void (async () => {
      for (;;) await router.receive();
    })().catch(() => undefined);
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (socket) =>
      socket.once('message', () => {
        socket.send(FINISHED_TEXT);
        socket.close(1000);
      }),
    );
    const address = wss.address() as { port: number };
    url = `ws://127.0.0.1:${address.port}/`;
  });
  after(async () => {
    router.close();
    await new Promise((resolve) => wss.close(resolve));
  });

  it('reports the losses and fails', async () => {
    const { report, files } = await runBench(
      { ...TINY, scenarios: ['throughput'], floor: false, external: { url, zeromq } },
      () => undefined,
    );
    assert.equal(report.ok, false);
    assert.ok(report.problemCount >= 4, report.problems.join('\n'));
    assert.match(
      report.problems[0],
      /subscriber of bench-.*: messages #0 to #\d+ missing before #\d+/,
    );
    assert.equal(report.results.throughput?.monitor?.cpuMicrosPerDelivery, null);
    assert.deepEqual(files, []);
  });

  it('refuses a target that is not on this machine', async () => {
    const { report } = await runBench(
      {
        ...TINY,
        scenarios: ['replay'],
        floor: false,
        external: { url: 'ws://192.0.2.1:4567/', zeromq },
      },
      () => undefined,
    );
    assert.equal(report.ok, false);
    assert.match(report.problems[0], /--url: the bench only talks to loopback addresses/);
  });
});
