/**
 * What an admin may know about the running monitor: Prometheus metrics through prom-client,
 * and the health summary. Nothing here names a channel.
 *
 * The modules that own the events keep plain number counters; prom-client reads them through
 * `collect()` on each scrape (pull), so the per-message path never calls into prom-client.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

/** A snapshot of the monitor's counters, taken when a scrape or a health check asks. */
export interface MonitorStats {
  readonly connectionsOpen: number;
  readonly connectionsTotal: number;
  readonly channelsLive: number;
  readonly channelsFinished: number;
  readonly messagesReceived: number;
  readonly messagesDelivered: number;
  /** By reason; every reason is present from the start, so the label set is fixed. */
  readonly messagesDropped: Readonly<Record<string, number>>;
  readonly bytesSent: number;
  readonly backpressureCloses: number;
  readonly zeromqReceiveErrors: number;
  readonly zeromqBound: boolean;
}

/** The `/health` document. */
export interface Health {
  readonly status: 'ok' | 'degraded';
  readonly uptime_seconds: number;
  readonly zeromq_bound: boolean;
  readonly connections: number;
  readonly channels: { readonly live: number; readonly finished: number };
}

export function healthReport(stats: MonitorStats, uptimeSeconds: number): Health {
  return {
    status: stats.zeromqBound ? 'ok' : 'degraded',
    uptime_seconds: Math.round(uptimeSeconds * 1000) / 1000,
    zeromq_bound: stats.zeromqBound,
    connections: stats.connectionsOpen,
    channels: { live: stats.channelsLive, finished: stats.channelsFinished },
  };
}

const PREFIX = 'recodex_monitor_';

export class Metrics {
  // Our own registry, not prom-client's global one: two monitors in one process stay apart.
  private readonly registry = new Registry();

  constructor(read: () => MonitorStats) {
    const registers = [this.registry];
    const gauge = (name: string, help: string, value: (s: MonitorStats) => number): void => {
      new Gauge({
        name: PREFIX + name,
        help,
        registers,
        collect() {
          this.set(value(read()));
        },
      });
    };
    // A counter that mirrors a running total: reset and re-add on each scrape.
    const counter = (name: string, help: string, value: (s: MonitorStats) => number): void => {
      new Counter({
        name: PREFIX + name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(value(read()));
        },
      });
    };

    gauge('connections_open', 'WebSocket connections open now.', (s) => s.connectionsOpen);
    counter('connections_total', 'WebSocket connections accepted.', (s) => s.connectionsTotal);
    new Gauge({
      name: `${PREFIX}channels`,
      help: 'Channels held: live ones, and finished ones kept for late subscribers.',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = read();
        this.set({ state: 'live' }, stats.channelsLive);
        this.set({ state: 'finished' }, stats.channelsFinished);
      },
    });
    counter(
      'messages_received_total',
      'Multipart messages received from the broker, good or bad.',
      (s) => s.messagesReceived,
    );
    counter(
      'messages_delivered_total',
      'Messages written to WebSocket clients (one per client).',
      (s) => s.messagesDelivered,
    );
    new Counter({
      name: `${PREFIX}messages_dropped_total`,
      help: 'Messages from the broker that were not relayed, by reason.',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(read().messagesDropped)) {
          this.inc({ reason }, count);
        }
      },
    });
    counter(
      'sent_bytes_total',
      'Payload bytes of the messages written to WebSocket clients.',
      (s) => s.bytesSent,
    );
    counter(
      'backpressure_closes_total',
      'WebSocket clients closed (1013) because they did not read fast enough.',
      (s) => s.backpressureCloses,
    );
    counter(
      'zeromq_receive_errors_total',
      'Failed ZeroMQ receives, each logged; a run of them stops the monitor.',
      (s) => s.zeromqReceiveErrors,
    );
    gauge('zeromq_bound', '1 while the ZeroMQ socket is bound for the broker.', (s) =>
      s.zeromqBound ? 1 : 0,
    );
    // Event-loop lag, memory, CPU, file descriptors, GC. prom-client offers no way to stop
    // its event-loop histogram and GC observer; they are process-wide probes and cost little.
    collectDefaultMetrics({ register: this.registry });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  close(): void {
    this.registry.clear();
  }
}
