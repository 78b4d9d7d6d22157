/** Starts a real monitor on ephemeral loopback ports. */
import { afterEach } from 'node:test';
import type { SchedulerLike } from 'rxjs';
import type { ClientOptions } from 'ws';
import { type Config, DEFAULT_CONFIG } from '../../src/config';
import { type BoundEndpoints, Monitor } from '../../src/monitor';
import { FakeBroker } from './broker';
import { memoryLogger, type MemoryLogger } from './memory-logger';
import { RecordingClient } from './ws-client';

export interface RunningMonitor {
  readonly monitor: Monitor;
  readonly endpoints: BoundEndpoints;
  readonly logger: MemoryLogger;
  readonly broker: FakeBroker;
  /** A client subscribed to `channel` (or sending nothing when undefined). */
  client(channel: string | undefined, options?: ClientOptions): RecordingClient;
  readonly url: string;
  stop(): Promise<void>;
}

export async function startMonitor(
  overrides: Partial<Config> = {},
  scheduler?: SchedulerLike,
): Promise<RunningMonitor> {
  const config: Config = {
    ...DEFAULT_CONFIG,
    websocket: { host: '127.0.0.1', port: 0 },
    zeromq: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    ...overrides,
  };
  const logger = memoryLogger();
  const monitor = new Monitor({ config, logger, scheduler });
  const endpoints = await monitor.start();
  const broker = new FakeBroker(endpoints.zeromq.port);
  const scheme = config.tls === undefined ? 'ws' : 'wss';
  const url = `${scheme}://127.0.0.1:${endpoints.websocket.port}/`;
  const clients: RecordingClient[] = [];
  return {
    monitor,
    endpoints,
    logger,
    broker,
    url,
    client(channel, options) {
      const client = new RecordingClient(url, channel, options);
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.socket.terminate();
      broker.close();
      await monitor.stop();
    },
  };
}

/**
 * For a `describe` block: returns a `start` that starts a monitor for the current test, and
 * stops it (and its clients and broker) after each test.
 */
export function monitorPerTest(): typeof startMonitor {
  let running: RunningMonitor | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });
  return async (...args) => {
    running = await startMonitor(...args);
    return running;
  };
}
