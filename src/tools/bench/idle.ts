/**
 * Scenario 3, idle connections: K subscribers, each on a channel of its own, that receive
 * nothing. The figure is the target's resident memory per connection. In the end every
 * channel gets `FINISHED`, which proves each subscription was still held.
 */
import { type FileLimit, openFileLimit } from './proc';
import {
  awaitClosed,
  channelIds,
  deliveryTimeoutMs,
  openBroker,
  type ScenarioContext,
  sendAll,
  settle,
  subscribe,
} from './load';
import type { Target } from './target';

export interface IdleLoad {
  readonly connections: number;
  /** Spread client source addresses over 127.0.0.0/8, past the ephemeral-port limit. */
  readonly spreadSources: boolean;
}

export interface IdleFigures {
  readonly connections: number;
  /** Connections open when memory was measured. */
  readonly held: number;
  readonly rssBeforeBytes: number | null;
  /** After the first half of the connections. */
  readonly rssHalfBytes: number | null;
  readonly rssAfterBytes: number | null;
  /** What the second half added, per connection: the marginal cost. */
  readonly bytesPerConnection: number | null;
  /** Growth since before the first connection, per connection: one-time growth included. */
  readonly bytesPerConnectionFromStart: number | null;
  /** Time to send `FINISHED` to every channel and see every connection closed. */
  readonly finishSeconds: number;
}

/** Files the bench needs besides the connections (sockets, pipes, libraries). */
const SPARE_FILES = 200;

export async function idle(
  target: Target,
  load: IdleLoad,
  context: ScenarioContext,
): Promise<IdleFigures> {
  requireFiles('the bench', openFileLimit(), load.connections);
  if (target.probe !== undefined) {
    requireFiles(target.name, target.probe.openFileLimit(), load.connections);
  }
  await settle(target.probe);
  const rssBefore = target.probe?.rssBytes() ?? null;
  const channels = channelIds(context.prefix, load.connections);
  // The first half pays one-time growth (heap headroom, allocator arenas); the second half
  // shows what one more connection costs.
  const half = Math.floor(load.connections / 2);
  const options = (offset: number) => (i: number) =>
    load.spreadSources ? { localAddress: sourceAddress(offset + i) } : {};
  const first = await subscribe(target, channels.slice(0, half), 1, 1, context, options(0));
  const rssHalf = await steadyRss(target);
  const second = await subscribe(target, channels.slice(half), 1, 1, context, options(half));
  const subscribers = [...first, ...second];
  const rssAfter = await steadyRss(target);
  const held = subscribers.filter((s) => s.isOpen).length;
  if (held < load.connections) {
    context.problems.add(`${target.name}: held ${held} of ${load.connections} idle connections`);
  }
  const broker = openBroker(target);
  try {
    const start = performance.now();
    await sendAll(broker, channels, 1);
    await awaitClosed(subscribers, deliveryTimeoutMs(load.connections), target);
    return {
      connections: load.connections,
      held,
      rssBeforeBytes: rssBefore,
      rssAfterBytes: rssAfter,
      rssHalfBytes: rssHalf,
      bytesPerConnection:
        rssHalf === null ||
        rssAfter === null ||
        held < load.connections ||
        half === load.connections
          ? null
          : (rssAfter - rssHalf) / (load.connections - half),
      bytesPerConnectionFromStart:
        rssBefore === null || rssAfter === null || held === 0
          ? null
          : (rssAfter - rssBefore) / held,
      finishSeconds: (performance.now() - start) / 1000,
    };
  } finally {
    broker.close();
  }
}

/** 127.1.X.Y: 250 connections per source address, far below its ephemeral-port range. */
function sourceAddress(index: number): string {
  return `127.1.${Math.floor(index / 250) % 256}.${1 + (index % 250)}`;
}

function requireFiles(who: string, limit: FileLimit | undefined, connections: number): void {
  const needed = connections + SPARE_FILES;
  if (limit === undefined || limit.soft >= needed) return;
  const how =
    limit.hard >= needed
      ? `raise it with \`ulimit -n ${needed}\` before starting the bench (make bench does)`
      : `the hard limit is ${limit.hard} too, and only root with CAP_SYS_RESOURCE can raise that`;
  throw new Error(
    `${connections} idle connections need about ${needed} open files in ${who}, ` +
      `whose limit is ${limit.soft}: ${how}; or ask for fewer connections`,
  );
}

/** RSS once the target is idle and its memory stops moving (within 1 %, at most 10 s). */
async function steadyRss(target: Target): Promise<number | null> {
  const probe = target.probe;
  if (probe === undefined) return null;
  await settle(probe);
  let rss = probe.rssBytes();
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = probe.rssBytes();
    if (Math.abs(now - rss) <= rss * 0.01) return now;
    rss = now;
  }
  return rss;
}
