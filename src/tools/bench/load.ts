/**
 * What every scenario does with its target: subscribe browsers, send as the broker, wait
 * for the deliveries, and read the target's CPU time around it.
 */
import { BenchBroker } from './broker';
import { messageFrames, nowMicros } from './script';
import { connectAll, Subscriber, type SubscriberOptions } from './subscriber';
import type { ProcessProbe } from './proc';
import type { Target } from './target';
import type { Problems } from './verify';

/** What a scenario gets besides its target. */
export interface ScenarioContext {
  readonly problems: Problems;
  /** Makes channel ids unique to this run and target. */
  readonly prefix: string;
  /** Progress lines for the operator. */
  readonly progress: (line: string) => void;
}

/** Connection attempts in flight at once; the listen backlog takes this many comfortably. */
export const CONNECT_CONCURRENCY = 200;

export function channelIds(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/** `perChannel` subscribers on each channel, each expecting `count` messages. */
export async function subscribe(
  target: Target,
  channels: readonly string[],
  perChannel: number,
  count: number,
  context: ScenarioContext,
  options: (index: number) => SubscriberOptions = () => ({}),
): Promise<Subscriber[]> {
  const subscribers = await connectAll(channels.length * perChannel, CONNECT_CONCURRENCY, (i) => {
    const channel = channels[Math.floor(i / perChannel)];
    return new Subscriber(target.url, channel, count, context.problems, options(i));
  });
  return subscribers;
}

/**
 * Sends `count` messages to every channel, round robin (message i of every channel before
 * message i + 1 of any), the last round being `FINISHED`. With `rate`, paces the sends to
 * that many messages per second and stamps each with its send time.
 */
export async function sendAll(
  broker: BenchBroker,
  channels: readonly string[],
  count: number,
  rate?: number,
): Promise<void> {
  const total = channels.length * count;
  if (rate === undefined) {
    for (let k = 0; k < total; k++) {
      await broker.send(
        channels[k % channels.length],
        messageFrames(Math.floor(k / channels.length), count),
      );
    }
    return;
  }
  const start = performance.now();
  let k = 0;
  while (k < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    for (; k < due; k++) {
      const index = Math.floor(k / channels.length);
      await broker.send(channels[k % channels.length], messageFrames(index, count, nowMicros()));
    }
    // Yield to the receiving side between bursts; timers fire about every millisecond.
    if (k < total) await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Waits until every subscriber is closed; after `timeoutMs` ends the rest as failures. */
export async function awaitClosed(
  subscribers: readonly Subscriber[],
  timeoutMs: number,
  target: Target,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const all = Promise.all(subscribers.map((s) => s.closed));
  const outcome = await Promise.race([all, timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    const why = target.died() ?? `no close within ${Math.round(timeoutMs / 1000)} s`;
    for (const subscriber of subscribers) subscriber.terminate(why);
    await all;
  }
}

/** A generous bound for `deliveries` deliveries on a loaded 2-core machine. */
export function deliveryTimeoutMs(deliveries: number): number {
  return 30_000 + deliveries * 0.5;
}

/**
 * Waits until the process is idle (less than 10% CPU over 100 ms, at most 10 s), so that
 * deferred work (buffered log writes, garbage collection) is counted in the window.
 */
export async function settle(probe: ProcessProbe | undefined): Promise<void> {
  if (probe === undefined) return;
  let before = probe.cpuSeconds();
  for (let i = 0; i < 100; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = probe.cpuSeconds();
    if (now - before <= 0.01) return;
    before = now;
  }
}

/** CPU seconds the target spent, or null without a probe. */
export class CpuWindow {
  private readonly start: number | undefined;

  constructor(private readonly probe: ProcessProbe | undefined) {
    this.start = probe?.cpuSeconds();
  }

  async end(): Promise<number | null> {
    if (this.probe === undefined || this.start === undefined) return null;
    await settle(this.probe);
    return this.probe.cpuSeconds() - this.start;
  }
}

/** Microseconds of CPU per delivery, or null when either is unknown. */
export function perDelivery(cpuSeconds: number | null, deliveries: number): number | null {
  return cpuSeconds === null || deliveries === 0 ? null : (cpuSeconds * 1e6) / deliveries;
}

export function delivered(subscribers: readonly Subscriber[]): number {
  let total = 0;
  for (const subscriber of subscribers) total += subscriber.check.received;
  return total;
}

export function openBroker(target: Target): BenchBroker {
  return new BenchBroker(target.zeromq);
}
