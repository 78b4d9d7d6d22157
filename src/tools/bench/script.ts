/**
 * What the bench sends on a channel and how it reads back what arrives.
 *
 * Message `i` of a channel of `count` messages is `TASK` with task id `i` (or `i@micros`
 * when it carries its send time for the latency scenario); the last one is `FINISHED`.
 * Every monitor must turn them into exactly these Python `json.dumps` texts.
 */

const TASK_PREFIX = '{"command": "TASK", "task_id": "';
const TASK_SUFFIX = '", "task_state": "COMPLETED"}';
export const FINISHED_TEXT = '{"command": "FINISHED"}';

/** The frames after the channel id for message `index` of a channel of `count` messages. */
export function messageFrames(index: number, count: number, sentAtMicros?: number): string[] {
  if (index === count - 1) return ['FINISHED'];
  const taskId = sentAtMicros === undefined ? String(index) : `${index}@${sentAtMicros}`;
  return ['TASK', taskId, 'COMPLETED'];
}

/** A delivered text read back: a task's index and send time, `FINISHED`, or garbage. */
export type Delivery =
  | { readonly kind: 'task'; readonly index: number; readonly sentAtMicros: number | undefined }
  | { readonly kind: 'finished' }
  | { readonly kind: 'unexpected' };

const UNEXPECTED: Delivery = { kind: 'unexpected' };
const FINISHED: Delivery = { kind: 'finished' };

/** Reads a delivered text; anything but the exact bytes `messageFrames` asks for is unexpected. */
export function readDelivery(text: string): Delivery {
  if (text === FINISHED_TEXT) return FINISHED;
  if (!text.startsWith(TASK_PREFIX) || !text.endsWith(TASK_SUFFIX)) return UNEXPECTED;
  const taskId = text.slice(TASK_PREFIX.length, text.length - TASK_SUFFIX.length);
  const match = /^(0|[1-9]\d*)(?:@(\d+))?$/.exec(taskId);
  if (match === null) return UNEXPECTED;
  return {
    kind: 'task',
    index: Number(match[1]),
    sentAtMicros: match[2] === undefined ? undefined : Number(match[2]),
  };
}

/**
 * Microseconds since the epoch from the monotonic clock (sender and receivers share the
 * bench process; the absolute origin lets a profiled monitor read the same stamps).
 */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
