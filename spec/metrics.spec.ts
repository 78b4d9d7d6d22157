import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { healthReport, Metrics, type MonitorStats } from '../src/metrics';
import { sample } from './helpers/http';

function stats(overrides: Partial<MonitorStats> = {}): MonitorStats {
  return {
    connectionsOpen: 2,
    connectionsTotal: 5,
    channelsLive: 3,
    channelsFinished: 4,
    messagesReceived: 11,
    messagesDelivered: 13,
    messagesDropped: { no_command: 1, oversized: 0 },
    bytesSent: 1234,
    backpressureCloses: 1,
    zeromqReceiveErrors: 0,
    zeromqBound: true,
    ...overrides,
  };
}

describe('Metrics', () => {
  it('exposes every counter of the snapshot under recodex_monitor_', async () => {
    const metrics = new Metrics(() => stats());
    const text = await metrics.render();
    const value = (name: string, labels?: Record<string, string>): number | undefined =>
      sample(text, `recodex_monitor_${name}`, labels);
    assert.equal(value('connections_open'), 2);
    assert.equal(value('connections_total'), 5);
    assert.equal(value('channels', { state: 'live' }), 3);
    assert.equal(value('channels', { state: 'finished' }), 4);
    assert.equal(value('messages_received_total'), 11);
    assert.equal(value('messages_delivered_total'), 13);
    assert.equal(value('messages_dropped_total', { reason: 'no_command' }), 1);
    // A reason that never happened is still a series, at 0.
    assert.equal(value('messages_dropped_total', { reason: 'oversized' }), 0);
    assert.equal(value('sent_bytes_total'), 1234);
    assert.equal(value('backpressure_closes_total'), 1);
    assert.equal(value('zeromq_receive_errors_total'), 0);
    assert.equal(value('zeromq_bound'), 1);
    assert.match(text, /^# TYPE recodex_monitor_messages_dropped_total counter$/m);
    assert.match(text, /^# TYPE recodex_monitor_connections_open gauge$/m);
    assert.match(text, /^# HELP nodejs_eventloop_lag_seconds /m);
    assert.match(text, /^# HELP process_resident_memory_bytes /m);
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
    metrics.close();
  });

  it('reads the counters afresh on every scrape instead of adding them up', async () => {
    let current = stats();
    const metrics = new Metrics(() => current);
    await metrics.render();
    current = stats({ messagesReceived: 20, connectionsOpen: 0, zeromqBound: false });
    const text = await metrics.render();
    assert.equal(sample(text, 'recodex_monitor_messages_received_total'), 20);
    assert.equal(sample(text, 'recodex_monitor_connections_open'), 0);
    assert.equal(sample(text, 'recodex_monitor_zeromq_bound'), 0);
    metrics.close();
  });

  it('keeps two monitors in one process apart', async () => {
    const one = new Metrics(() => stats({ connectionsTotal: 1 }));
    const two = new Metrics(() => stats({ connectionsTotal: 2 }));
    assert.equal(sample(await one.render(), 'recodex_monitor_connections_total'), 1);
    assert.equal(sample(await two.render(), 'recodex_monitor_connections_total'), 2);
    one.close();
    assert.equal(await one.render(), '\n');
    two.close();
  });
});

describe('healthReport', () => {
  it('is ok with the ZeroMQ socket bound, and gives counts, never channel ids', () => {
    assert.deepEqual(healthReport(stats(), 12.34567), {
      status: 'ok',
      uptime_seconds: 12.346,
      zeromq_bound: true,
      connections: 2,
      channels: { live: 3, finished: 4 },
    });
  });

  it('is degraded without it', () => {
    const health = healthReport(stats({ zeromqBound: false }), 1);
    assert.equal(health.status, 'degraded');
    assert.equal(health.zeromq_bound, false);
  });
});
