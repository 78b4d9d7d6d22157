/**
 * Scenario 1, throughput: C channels x S subscribers x M messages sent as fast as the
 * broker side can. The figure that holds on a shared machine is the target's CPU time per
 * delivered message; deliveries per second depend on what else runs.
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
import type { Target } from './target';

export interface ThroughputLoad {
  readonly channels: number;
  readonly subscribers: number;
  readonly messages: number;
}

export interface ThroughputFigures {
  readonly deliveries: number;
  readonly seconds: number;
  readonly deliveriesPerSecond: number;
  /** Null when the target's pid is unknown. */
  readonly cpuMicrosPerDelivery: number | null;
}

export async function throughput(
  target: Target,
  load: ThroughputLoad,
  context: ScenarioContext,
): Promise<ThroughputFigures> {
  const channels = channelIds(context.prefix, load.channels);
  const subscribers = await subscribe(target, channels, load.subscribers, load.messages, context);
  const broker = openBroker(target);
  try {
    await settle(target.probe);
    const cpu = new CpuWindow(target.probe);
    const start = performance.now();
    await sendAll(broker, channels, load.messages);
    await awaitClosed(subscribers, deliveryTimeoutMs(subscribers.length * load.messages), target);
    const seconds = (performance.now() - start) / 1000;
    const deliveries = delivered(subscribers);
    return {
      deliveries,
      seconds,
      deliveriesPerSecond: deliveries / seconds,
      cpuMicrosPerDelivery: perDelivery(await cpu.end(), deliveries),
    };
  } finally {
    broker.close();
  }
}
