import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { pollUntil, get, sample } from './helpers/http';
import { startMonitor, type RunningMonitor } from './helpers/running-monitor';
import { withTimeout } from './helpers/ws-client';

const SECRET = 'job-7f3a9c-secret';

describe('health and metrics of a running monitor', () => {
  let running: RunningMonitor;
  let base: string;

  before(async () => {
    running = await startMonitor();
    base = `http://127.0.0.1:${running.endpoints.metrics.port}`;
  });
  after(() => running.stop());

  it('serves them on their own port, not on the WebSocket port', async () => {
    const { metrics, websocket } = running.endpoints;
    assert.notEqual(metrics.port, websocket.port);
    assert.equal((await get(`${base}/health`)).status, 200);
    // The public port does not answer health questions...
    const onPublic = await get(`http://127.0.0.1:${websocket.port}/health`).catch(() => undefined);
    assert.ok(onPublic === undefined || onPublic.status !== 200, 'health on the WebSocket port');
    // ...and the admin port does not speak WebSocket.
    const socket = new WebSocket(`ws://127.0.0.1:${metrics.port}/`);
    const outcome = await withTimeout(
      new Promise<string>((resolve) => {
        socket.once('open', () => resolve('open'));
        socket.once('error', () => resolve('error'));
      }),
    );
    socket.terminate();
    assert.equal(outcome, 'error');
  });

  it('answers /health with a small JSON document before any traffic', async () => {
    const health = await get(`${base}/health`);
    assert.equal(health.status, 200);
    assert.match(health.contentType, /^application\/json/);
    const document = JSON.parse(health.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(document).sort(), [
      'channels',
      'connections',
      'status',
      'uptime_seconds',
      'zeromq_bound',
    ]);
    assert.equal(document.status, 'ok');
    assert.equal(document.zeromq_bound, true);
    assert.equal(document.connections, 0);
    assert.deepEqual(document.channels, { live: 0, finished: 0 });
    assert.equal(typeof document.uptime_seconds, 'number');
  });

  it('answers 404 for every other path and method', async () => {
    for (const path of ['/', '/channels', `/${SECRET}`, '/health/x', '/metricsx']) {
      const reply = await get(`${base}${path}`);
      assert.equal(reply.status, 404, path);
    }
    assert.equal((await get(`${base}/health`, 'POST')).status, 404);
    assert.equal((await get(`${base}/metrics`, 'DELETE')).status, 404);
  });

  it('counts what it relayed and dropped, and never names a channel', async () => {
    const { broker } = running;
    const watcher = running.client(SECRET);
    await watcher.opened;
    await pollUntil(async () => {
      const health = JSON.parse((await get(`${base}/health`)).body) as { connections: number };
      return health.connections === 1;
    }, 'the watcher to be counted');
    const live = JSON.parse((await get(`${base}/health`)).body) as { channels: unknown };
    assert.deepEqual(live.channels, { live: 1, finished: 0 });

    const task = { command: 'TASK', task_id: 'compile', task_state: 'COMPLETED' };
    await broker.send(SECRET, 'STARTED');
    await broker.send(SECRET, 'TASK', task.task_id, task.task_state);
    await broker.send(SECRET, 'FINISHED');
    await broker.send(SECRET, 'TASK', 'late', 'COMPLETED'); // already finished
    await broker.send(SECRET); // no command frame
    await broker.send('0', 'exit'); // remote exit is off by default
    await broker.send('job-2', 'TASK', 'x'.repeat(70_000)); // over max_frame_bytes
    assert.deepEqual((await withTimeout(watcher.closed)).code, 1000);
    assert.deepEqual(
      watcher.messages.map((m) => JSON.parse(m) as unknown),
      [{ command: 'STARTED' }, task, { command: 'FINISHED' }],
    );

    let text = '';
    await pollUntil(async () => {
      text = (await get(`${base}/metrics`)).body;
      return sample(text, 'recodex_monitor_messages_received_total') === 7;
    }, 'seven received messages');
    const metric = (name: string, labels?: Record<string, string>): number | undefined =>
      sample(text, `recodex_monitor_${name}`, labels);
    assert.equal(metric('messages_delivered_total'), 3);
    assert.equal(
      metric('sent_bytes_total'),
      watcher.messages.reduce((sum, m) => sum + Buffer.byteLength(m), 0),
    );
    assert.equal(metric('messages_dropped_total', { reason: 'already_finished' }), 1);
    assert.equal(metric('messages_dropped_total', { reason: 'no_command' }), 1);
    assert.equal(metric('messages_dropped_total', { reason: 'remote_exit_disabled' }), 1);
    assert.equal(metric('messages_dropped_total', { reason: 'oversized' }), 1);
    assert.equal(metric('messages_dropped_total', { reason: 'invalid_utf8' }), 0);
    assert.equal(metric('connections_total'), 1);
    assert.equal(metric('connections_open'), 0);
    assert.equal(metric('channels', { state: 'live' }), 0);
    assert.equal(metric('channels', { state: 'finished' }), 1);
    assert.equal(metric('backpressure_closes_total'), 0);
    assert.equal(metric('zeromq_receive_errors_total'), 0);
    assert.equal(metric('zeromq_bound'), 1);
    // prom-client's process metrics come along.
    assert.ok((sample(text, 'nodejs_eventloop_lag_seconds') ?? -1) >= 0);
    assert.ok((sample(text, 'process_resident_memory_bytes') ?? 0) > 0);

    const health = await get(`${base}/health`);
    assert.deepEqual((JSON.parse(health.body) as { channels: unknown }).channels, {
      live: 0,
      finished: 1,
    });
    for (const body of [text, health.body]) {
      assert.ok(!body.includes(SECRET), 'a channel id leaked');
      assert.ok(!body.includes('job-2'), 'a channel id leaked');
    }
  });

  it('serves Prometheus text that counts on across scrapes', async () => {
    const first = await get(`${base}/metrics`);
    assert.equal(first.status, 200);
    assert.match(first.contentType, /^text\/plain; version=0\.0\.4/);
    assert.match(first.body, /^# TYPE recodex_monitor_messages_received_total counter$/m);
    const before = sample(first.body, 'recodex_monitor_messages_received_total') ?? NaN;
    await running.broker.send('job-3', 'STARTED');
    await pollUntil(async () => {
      const text = (await get(`${base}/metrics`)).body;
      return sample(text, 'recodex_monitor_messages_received_total') === before + 1;
    }, 'the counter to go up by one');
  });
});

describe('health and metrics after shutdown', () => {
  it('stop listening with the rest of the monitor', async () => {
    const running = await startMonitor();
    const url = `http://127.0.0.1:${running.endpoints.metrics.port}/health`;
    assert.equal((await get(url)).status, 200);
    await running.stop();
    await assert.rejects(get(url, 'GET', 2000));
  });
});
