/**
 * Scenario 2, latency: the throughput load paced at fixed rates of messages in per second.
 * Each message carries its send time in its task id; the subscriber's receipt time minus it
 * is the end-to-end latency (both ends live in the bench process, on one clock).
 */
import {
  awaitClosed,
  channelIds,
  CpuWindow,
  delivered,
  deliveryTimeoutMs,
  openBroker,
  perDelivery,
  type ScenarioContext,
  sendAll,
  settle,
  subscribe,
} from './load';
import { nowMicros } from './script';
import { percentile } from './stats';
import type { Target } from './target';

export interface LatencyLoad {
  readonly channels: number;
  readonly subscribers: number;
  /** Messages in per second, one run each. */
  readonly rates: readonly number[];
  /** How long each rate is held. */
  readonly seconds: number;
}

export interface LatencyFigures {
  readonly rate: number;
  /** Messages in per second actually sent. */
  readonly achievedRate: number;
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly cpuMicrosPerDelivery: number | null;
}

export async function latency(
  target: Target,
  load: LatencyLoad,
  context: ScenarioContext,
): Promise<LatencyFigures[]> {
  const results: LatencyFigures[] = [];
  for (const rate of load.rates) {
    context.progress(`  ${rate} messages/s`);
    results.push(await atRate(target, load, rate, context));
  }
  return results;
}

async function atRate(
  target: Target,
  load: LatencyLoad,
  rate: number,
  context: ScenarioContext,
): Promise<LatencyFigures> {
  // At least two messages a channel: some tasks, then FINISHED.
  const count = Math.max(2, Math.round((rate * load.seconds) / load.channels));
  const channels = channelIds(`${context.prefix}-${rate}`, load.channels);
  const samples: number[] = [];
  const record = (sentAtMicros: number): void => {
    samples.push((nowMicros() - sentAtMicros) / 1000);
  };
  const subscribers = await subscribe(target, channels, load.subscribers, count, context, () => ({
    onLatency: record,
  }));
  const broker = openBroker(target);
  try {
    await settle(target.probe);
    const cpu = new CpuWindow(target.probe);
    const start = performance.now();
    await sendAll(broker, channels, count, rate);
    const sendSeconds = (performance.now() - start) / 1000;
    await awaitClosed(subscribers, deliveryTimeoutMs(subscribers.length * count), target);
    const sorted = Float64Array.from(samples).sort();
    return {
      rate,
      achievedRate: (channels.length * count) / sendSeconds,
      samples: sorted.length,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      maxMs: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1],
      cpuMicrosPerDelivery: perDelivery(await cpu.end(), delivered(subscribers)),
    };
  } finally {
    broker.close();
  }
}
