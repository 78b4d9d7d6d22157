/**
 * Scenario 4, replay: a late subscriber to a channel that holds N messages (the last being
 * `FINISHED`), timed from sending its channel id to receiving the last message. A live
 * subscriber on the channel shows when all N are stored.
 */
import {
  awaitClosed,
  deliveryTimeoutMs,
  openBroker,
  type ScenarioContext,
  sendAll,
  subscribe,
} from './load';
import type { Target } from './target';

export interface ReplayLoad {
  readonly messages: number;
  readonly runs: number;
}

export interface ReplayFigures {
  readonly messages: number;
  readonly runs: number;
  readonly medianMs: number;
  readonly bestMs: number;
  readonly worstMs: number;
}

export async function replay(
  target: Target,
  load: ReplayLoad,
  context: ScenarioContext,
): Promise<ReplayFigures> {
  const times: number[] = [];
  const broker = openBroker(target);
  try {
    for (let run = 0; run < load.runs; run++) {
      const channel = [`${context.prefix}-${run}`];
      const timeout = deliveryTimeoutMs(load.messages);
      const live = await subscribe(target, channel, 1, load.messages, context);
      await sendAll(broker, channel, load.messages);
      await awaitClosed(live, timeout, target);
      const [late] = await subscribe(target, channel, 1, load.messages, context);
      await awaitClosed([late], timeout, target);
      if (late.check.finished) times.push(late.finishedAt - late.subscribedAt);
    }
  } finally {
    broker.close();
  }
  times.sort((a, b) => a - b);
  return {
    messages: load.messages,
    runs: times.length,
    medianMs: times.length === 0 ? Number.NaN : times[Math.floor((times.length - 1) / 2)],
    bestMs: times.length === 0 ? Number.NaN : times[0],
    worstMs: times.length === 0 ? Number.NaN : times[times.length - 1],
  };
}
