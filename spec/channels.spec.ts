import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Subscription, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Channels } from '../src/channels';
import { formatMessage, type ProgressMessage } from '../src/message';
import { memoryLogger } from './helpers/memory-logger';

const RETENTION = 300_000;

function message(channel: string, ...values: string[]): ProgressMessage {
  return {
    kind: 'progress',
    channel,
    command: values[0],
    json: formatMessage(values),
    terminal: values[0] === 'FINISHED',
  };
}

/** Virtual time with no frame limit: hours pass in microseconds. */
function virtualTime(): VirtualTimeScheduler {
  return new VirtualTimeScheduler(VirtualAction, Infinity);
}

function record(channels: Channels, id: string) {
  const seen = { messages: [] as string[], completed: false };
  const subscription = channels.stream(id).subscribe({
    next: (json) => seen.messages.push(json),
    complete: () => {
      seen.completed = true;
    },
  });
  return { seen, subscription };
}

describe('Channels', () => {
  it('replays history and then live messages, completing after FINISHED (marbles)', () => {
    const scheduler = new TestScheduler((actual, expected) => assert.deepEqual(actual, expected));
    scheduler.run(({ expectObservable }) => {
      const channels = new Channels({ retentionMs: RETENTION, scheduler });
      const [s, t, f] = [
        message('j', 'STARTED'),
        message('j', 'TASK', 'x', 'COMPLETED'),
        message('j', 'FINISHED'),
      ];
      scheduler.schedule(() => channels.publish(s), 1);
      scheduler.schedule(() => channels.publish(t), 3);
      scheduler.schedule(() => channels.publish(f), 20);
      const values = { s: s.json, t: t.json, f: f.json };
      // Subscribed before the first message: everything live.
      expectObservable(channels.stream('j')).toBe('-s-t 16ms (f|)', values);
      // Subscribed midway: the history at once, then the rest live.
      expectObservable(channels.stream('j'), '5ms ^').toBe('5ms (st) 11ms (f|)', values);
      // Subscribed after FINISHED: the whole history and the end at once.
      expectObservable(channels.stream('j'), '21ms ^').toBe('21ms (stf|)', values);
    });
  });

  it('keeps channels apart', () => {
    const channels = new Channels({ retentionMs: RETENTION, scheduler: virtualTime() });
    const a = record(channels, 'a');
    channels.publish(message('a', 'STARTED'));
    channels.publish(message('b', 'STARTED'));
    channels.publish(message('b', 'FINISHED'));
    assert.deepEqual(a.seen, { messages: ['{"command": "STARTED"}'], completed: false });
    assert.equal(channels.size, 2);
  });

  it('creates a channel for a subscriber that comes before the first message', () => {
    const channels = new Channels({ retentionMs: RETENTION, scheduler: virtualTime() });
    const early = record(channels, 'job');
    assert.equal(channels.size, 1);
    channels.publish(message('job', 'STARTED'));
    assert.deepEqual(early.seen.messages, ['{"command": "STARTED"}']);
  });

  it('reports what became of each message', () => {
    const channels = new Channels({ retentionMs: RETENTION, scheduler: virtualTime() });
    assert.equal(channels.publish(message('job', 'STARTED')), 'stored');
    assert.equal(channels.publish(message('job', 'FINISHED')), 'finished');
    assert.equal(channels.publish(message('job', 'TASK', 'late', 'COMPLETED')), 'already-finished');
  });

  it('does not add messages to a finished channel', () => {
    const channels = new Channels({ retentionMs: RETENTION, scheduler: virtualTime() });
    channels.publish(message('job', 'FINISHED'));
    channels.publish(message('job', 'STARTED'));
    assert.deepEqual(record(channels, 'job').seen, {
      messages: ['{"command": "FINISHED"}'],
      completed: true,
    });
  });

  it('forgets a finished channel exactly at retention, not a millisecond earlier', () => {
    const scheduler = virtualTime();
    const channels = new Channels({ retentionMs: RETENTION, scheduler });
    scheduler.schedule(() => channels.publish(message('job', 'STARTED')), 1000);
    const late: string[][] = [];
    const sizes: [number, number][] = [];
    const probe = (delay: number) =>
      scheduler.schedule(() => {
        sizes.push([scheduler.now(), channels.size]);
        late.push(record(channels, 'job').seen.messages);
      }, delay);
    scheduler.schedule(() => {
      channels.publish(message('job', 'FINISHED'));
      probe(RETENTION - 1);
      probe(RETENTION);
    }, 2000);
    scheduler.flush();
    assert.deepEqual(sizes, [
      [2000 + RETENTION - 1, 1],
      [2000 + RETENTION, 0],
    ]);
    // A late subscriber within retention gets the whole history; after it, a fresh channel.
    assert.deepEqual(late, [['{"command": "STARTED"}', '{"command": "FINISHED"}'], []]);
  });

  it('after forgetting, a new message starts a fresh channel', () => {
    const scheduler = virtualTime();
    const channels = new Channels({ retentionMs: RETENTION, scheduler });
    channels.publish(message('job', 'FINISHED'));
    scheduler.flush();
    assert.equal(channels.size, 0);
    assert.equal(channels.publish(message('job', 'STARTED')), 'stored');
    assert.deepEqual(record(channels, 'job').seen, {
      messages: ['{"command": "STARTED"}'],
      completed: false,
    });
  });

  it('honours a configured retention', () => {
    const scheduler = virtualTime();
    const channels = new Channels({ retentionMs: 10, scheduler });
    channels.publish(message('job', 'FINISHED'));
    scheduler.schedule(() => assert.equal(channels.size, 1), 9);
    scheduler.schedule(() => assert.equal(channels.size, 0), 10);
    scheduler.flush();
  });

  it('close() cancels the retention timer and forgets every channel', () => {
    const scheduler = virtualTime();
    const channels = new Channels({ retentionMs: RETENTION, scheduler });
    for (let i = 0; i < 100; i++) channels.publish(message(`job-${i}`, 'FINISHED'));
    // One timer for the registry, armed for the first expiry, not one per channel.
    assert.equal(channels.stats().timers, 1);
    assert.equal(scheduler.actions.filter((a) => !a.closed).length, 1);
    channels.close();
    assert.equal(channels.size, 0);
    assert.equal(scheduler.actions.filter((a) => !a.closed).length, 0);
  });
});

/** Runs every timer due by `frame`, then stands the clock at `frame`. */
function advanceTo(scheduler: VirtualTimeScheduler, frame: number): void {
  scheduler.maxFrames = frame;
  scheduler.flush();
  scheduler.frame = frame;
  scheduler.maxFrames = Infinity;
}

const GRACE = 30_000;
const IDLE = 3_600_000;

function bounded(overrides: Partial<ConstructorParameters<typeof Channels>[0]> = {}) {
  const scheduler = virtualTime();
  const logger = memoryLogger();
  const channels = new Channels({
    retentionMs: RETENTION,
    failedGraceMs: GRACE,
    idleTimeoutMs: IDLE,
    logger,
    scheduler,
    ...overrides,
  });
  return { scheduler, logger, channels };
}

describe('Channels: jobs that never finish', () => {
  it('finishes a channel whose last message is FAILED after failed_grace, then keeps it for retention', () => {
    const { scheduler, logger, channels } = bounded();
    const watcher = record(channels, 'job');
    channels.publish(message('job', 'STARTED'));
    advanceTo(scheduler, 1000);
    channels.publish(message('job', 'FAILED'));
    advanceTo(scheduler, 1000 + GRACE - 1);
    assert.equal(watcher.seen.completed, false);
    advanceTo(scheduler, 1000 + GRACE);
    assert.equal(watcher.seen.completed, true);
    assert.deepEqual(logger.find('info', 'channel job finished'), [
      'channel job finished: nothing came for 30 s after FAILED',
    ]);
    // Retention starts at the grace's end: a late subscriber still gets the history.
    advanceTo(scheduler, 1000 + GRACE + RETENTION - 1);
    assert.deepEqual(record(channels, 'job').seen, {
      messages: ['{"command": "STARTED"}', '{"command": "FAILED"}'],
      completed: true,
    });
    advanceTo(scheduler, 1000 + GRACE + RETENTION);
    assert.deepEqual(channels.stats(), { channels: 0, timers: 0, subscribers: 0 });
    assert.equal(scheduler.actions.length, 0);
  });

  it('lets a worker FAILED followed by FINISHED finish normally', () => {
    const { scheduler, logger, channels } = bounded();
    channels.publish(message('job', 'FAILED'));
    advanceTo(scheduler, 10);
    assert.equal(channels.publish(message('job', 'FINISHED')), 'finished');
    advanceTo(scheduler, 10 + RETENTION - 1);
    assert.equal(channels.size, 1);
    advanceTo(scheduler, 10 + RETENTION);
    assert.equal(channels.size, 0);
    assert.deepEqual(logger.lines, []);
  });

  it('does not apply the grace once another message follows FAILED', () => {
    const { scheduler, channels } = bounded();
    const watcher = record(channels, 'job');
    channels.publish(message('job', 'FAILED'));
    advanceTo(scheduler, 1000);
    // The broker reassigned the job: a new worker goes on.
    channels.publish(message('job', 'ABORTED'));
    channels.publish(message('job', 'STARTED'));
    advanceTo(scheduler, 1000 + GRACE * 10);
    assert.equal(watcher.seen.completed, false);
    advanceTo(scheduler, 1000 + IDLE);
    assert.equal(watcher.seen.completed, true);
  });

  it('finishes a channel after channel_idle_timeout without a message, counted from the last one', () => {
    const { scheduler, logger, channels } = bounded();
    const watcher = record(channels, 'job');
    channels.publish(message('job', 'STARTED'));
    advanceTo(scheduler, IDLE / 2);
    channels.publish(message('job', 'TASK', 'a', 'COMPLETED'));
    advanceTo(scheduler, IDLE / 2 + IDLE - 1);
    assert.equal(watcher.seen.completed, false);
    advanceTo(scheduler, IDLE / 2 + IDLE);
    assert.equal(watcher.seen.completed, true);
    assert.deepEqual(logger.find('info', 'finished'), [
      'channel job finished: no message for 3600 s',
    ]);
    assert.equal(channels.publish(message('job', 'STARTED')), 'already-finished');
    advanceTo(scheduler, IDLE / 2 + IDLE + RETENTION);
    assert.deepEqual(channels.stats(), { channels: 0, timers: 0, subscribers: 0 });
  });

  it('keeps one timer per channel however many messages it gets', () => {
    const { scheduler, channels } = bounded();
    for (let i = 0; i < 1000; i++) {
      advanceTo(scheduler, i);
      channels.publish(message('busy', 'TASK', `t${i}`, 'COMPLETED'));
    }
    assert.equal(scheduler.actions.length, 1);
    assert.equal(channels.stats().timers, 1);
  });

  it('closes a subscriber of a channel that never got a message after the idle timeout, and forgets the channel at once', () => {
    const { scheduler, logger, channels } = bounded();
    const watcher = record(channels, 'never');
    advanceTo(scheduler, IDLE - 1);
    assert.equal(watcher.seen.completed, false);
    advanceTo(scheduler, IDLE);
    assert.deepEqual(watcher.seen, { messages: [], completed: true });
    assert.deepEqual(channels.stats(), { channels: 0, timers: 0, subscribers: 0 });
    assert.equal(scheduler.actions.length, 0);
    // Nothing worth an info line: a subscriber guessed or came early.
    assert.deepEqual(logger.lines, []);
    // A job that starts later gets a fresh channel.
    assert.equal(channels.publish(message('never', 'STARTED')), 'stored');
  });

  it('forgets a channel without messages as soon as its last subscriber leaves', () => {
    const { scheduler, channels } = bounded();
    const a = record(channels, 'guess');
    const b = record(channels, 'guess');
    a.subscription.unsubscribe();
    assert.equal(channels.size, 1);
    b.subscription.unsubscribe();
    assert.deepEqual(channels.stats(), { channels: 0, timers: 0, subscribers: 0 });
    assert.equal(scheduler.actions.length, 0);
  });

  it('keeps a channel with messages when its subscribers leave', () => {
    const { channels } = bounded();
    const a = record(channels, 'job');
    channels.publish(message('job', 'STARTED'));
    a.subscription.unsubscribe();
    assert.deepEqual(channels.stats(), { channels: 1, timers: 1, subscribers: 0 });
  });
});

describe('Channels: history cap', () => {
  it('keeps the first max_channel_messages, sends later ones live only, and warns once', () => {
    const { logger, channels } = bounded({ maxMessages: 3 });
    const live = record(channels, 'flood');
    for (let i = 1; i <= 6; i++) channels.publish(message('flood', 'TASK', `t${i}`, 'COMPLETED'));
    const all = Array.from({ length: 6 }, (_, i) =>
      formatMessage(['TASK', `t${i + 1}`, 'COMPLETED']),
    );
    assert.deepEqual(live.seen.messages, all);
    const late = record(channels, 'flood');
    assert.deepEqual(late.seen.messages, all.slice(0, 3));
    channels.publish(message('flood', 'STARTED'));
    assert.deepEqual(late.seen.messages, [...all.slice(0, 3), '{"command": "STARTED"}']);
    assert.deepEqual(logger.find('warning', 'flood'), [
      'channel flood reached max_channel_messages (3): later messages go to live subscribers only',
    ]);
  });

  it('still finishes a capped channel on FINISHED', () => {
    const { channels } = bounded({ maxMessages: 2 });
    const live = record(channels, 'job');
    for (const command of ['STARTED', 'ENDED', 'UPLOADED', 'FINISHED']) {
      channels.publish(message('job', command));
    }
    assert.equal(live.seen.completed, true);
    assert.equal(live.seen.messages.length, 4);
    // A late subscriber gets the kept history, then FINISHED (kept past the cap) and the end.
    assert.deepEqual(record(channels, 'job').seen, {
      messages: ['{"command": "STARTED"}', '{"command": "ENDED"}', '{"command": "FINISHED"}'],
      completed: true,
    });
  });
});

describe('Channels: channel cap', () => {
  it('forgets the oldest finished channel first, with a warning and the count', () => {
    const { scheduler, logger, channels } = bounded({ maxChannels: 3 });
    channels.publish(message('first-done', 'FINISHED'));
    advanceTo(scheduler, 1);
    channels.publish(message('active', 'STARTED'));
    advanceTo(scheduler, 2);
    channels.publish(message('second-done', 'FINISHED'));
    channels.publish(message('new-1', 'STARTED'));
    assert.equal(channels.size, 3);
    assert.deepEqual(record(channels, 'first-done').seen.messages, []);
    // first-done came back as an empty channel above, pushing out second-done.
    assert.deepEqual(record(channels, 'second-done').seen.messages, []);
    assert.deepEqual(logger.find('warning', 'max_channels'), [
      'max_channels (3) reached: forgot finished channel first-done (1 forgotten so far)',
    ]);
  });

  it('then forgets the longest-idle active channel, closing its subscribers', () => {
    const { scheduler, logger, channels } = bounded({ maxChannels: 3 });
    channels.publish(message('a', 'STARTED'));
    advanceTo(scheduler, 10);
    channels.publish(message('b', 'STARTED'));
    advanceTo(scheduler, 20);
    channels.publish(message('c', 'STARTED'));
    advanceTo(scheduler, 30);
    // `a` is the oldest channel, but a message makes `b` the longest idle.
    channels.publish(message('a', 'TASK', 'x', 'COMPLETED'));
    const onB = record(channels, 'b');
    channels.publish(message('d', 'STARTED'));
    assert.deepEqual(onB.seen, { messages: ['{"command": "STARTED"}'], completed: true });
    assert.equal(channels.size, 3);
    assert.equal(record(channels, 'a').seen.messages.length, 2);
    assert.deepEqual(logger.find('warning', 'max_channels'), [
      'max_channels (3) reached: forgot idle channel b (1 forgotten so far)',
    ]);
    // b's subscriber was completed; the one on `a` above is still open.
    assert.deepEqual(channels.stats(), { channels: 3, timers: 1, subscribers: 1 });
  });

  it('logs one eviction per minute, then the count of the rest', () => {
    const { scheduler, logger, channels } = bounded({ maxChannels: 10 });
    for (let i = 0; i < 1010; i++) channels.publish(message(`job-${i}`, 'STARTED'));
    assert.equal(channels.size, 10);
    advanceTo(scheduler, 60_000);
    assert.deepEqual(logger.find('warning', 'max_channels'), [
      'max_channels (10) reached: forgot idle channel job-0 (1 forgotten so far)',
      '999 more channels forgotten for max_channels in the last 60 s, not logged one by one',
    ]);
  });

  it('counts a channel created by a subscriber towards the cap', () => {
    const { channels } = bounded({ maxChannels: 2 });
    channels.publish(message('a', 'FINISHED'));
    channels.publish(message('b', 'STARTED'));
    const early = record(channels, 'c');
    assert.equal(channels.size, 2);
    channels.publish(message('c', 'STARTED'));
    assert.deepEqual(early.seen.messages, ['{"command": "STARTED"}']);
    assert.deepEqual(record(channels, 'a').seen.messages, []);
  });
});

describe('Channels: nothing leaks', () => {
  it('10 000 channels created, finished and expired leave no channel, timer or subscription', () => {
    const { scheduler, channels } = bounded();
    const subscriptions: Subscription[] = [];
    let completions = 0;
    let delivered = 0;
    const watch = (id: string) =>
      subscriptions.push(
        channels.stream(id).subscribe({
          next: () => {
            delivered += 1;
          },
          complete: () => {
            completions += 1;
          },
        }),
      );
    const ids = Array.from({ length: 10_000 }, (_, i) => `job-${i}`);
    for (const [i, id] of ids.entries()) {
      advanceTo(scheduler, i);
      // Half are watched from before their first message, all by a late subscriber below.
      if (i % 2 === 0) watch(id);
      channels.publish(message(id, 'STARTED'));
      channels.publish(message(id, 'TASK', 'compile', 'COMPLETED'));
      // Three ways to end: FINISHED, a broker FAILED and its grace, or silence.
      if (i % 3 === 0) channels.publish(message(id, 'FINISHED'));
      else if (i % 3 === 1) channels.publish(message(id, 'FAILED'));
      watch(id);
    }
    const peak = channels.stats();
    assert.equal(peak.channels, 10_000);
    // Open: the late watcher of each of the 6666 unfinished channels, and the early one of
    // the 3333 even ones among them.
    assert.equal(peak.subscribers, 2 * 6666 - 3333);
    advanceTo(scheduler, 10_000 + IDLE + RETENTION);
    assert.deepEqual(channels.stats(), { channels: 0, timers: 0, subscribers: 0 });
    // Independent of the registry's own counts: the scheduler holds no action at all,
    assert.equal(scheduler.actions.length, 0);
    // and every subscription was completed and released.
    assert.equal(completions, 15_000);
    assert.ok(subscriptions.every((s) => s.closed));
    assert.ok(delivered > 0);
  });
});

describe('Channels: listeners', () => {
  /** A listener that records what it gets and may act in the middle of a publish. */
  function listener(onMessage: (json: string) => void = () => undefined) {
    const got = { messages: [] as string[], finished: 0 };
    return {
      got,
      message(json: string) {
        got.messages.push(json);
        onMessage(json);
      },
      finished() {
        got.finished += 1;
      },
    };
  }

  it('gives a listener the history at once, then live messages, then one finished()', () => {
    const channels = new Channels({ retentionMs: RETENTION, scheduler: virtualTime() });
    channels.publish(message('job', 'STARTED'));
    const late = listener();
    channels.watch('job', late);
    assert.deepEqual(late.got, { messages: ['{"command": "STARTED"}'], finished: 0 });
    channels.publish(message('job', 'FINISHED'));
    assert.deepEqual(late.got, {
      messages: ['{"command": "STARTED"}', '{"command": "FINISHED"}'],
      finished: 1,
    });
    assert.equal(channels.stats().subscribers, 0);
    // After the end: the whole history and finished(), and nothing is held for it.
    const after = listener();
    channels.watch('job', after);
    assert.deepEqual(after.got, late.got);
    assert.equal(channels.stats().subscribers, 0);
  });

  it('lets a listener leave in the middle of a publish without disturbing the others', () => {
    const channels = new Channels({ retentionMs: RETENTION, scheduler: virtualTime() });
    const others = [listener(), listener()];
    const leaving = listener(() => channels.unwatch('job', leaving));
    channels.watch('job', others[0]);
    channels.watch('job', leaving);
    channels.watch('job', others[1]);
    channels.publish(message('job', 'STARTED'));
    channels.publish(message('job', 'ENDED'));
    assert.deepEqual(leaving.got.messages, ['{"command": "STARTED"}']);
    for (const other of others) assert.equal(other.got.messages.length, 2);
    assert.equal(channels.stats().subscribers, 2);
  });

  it('gives a listener that joins in the middle of a publish that message once', () => {
    const channels = new Channels({ retentionMs: RETENTION, scheduler: virtualTime() });
    const joining = listener();
    const first = listener(() => {
      if (joining.got.messages.length === 0) channels.watch('job', joining);
    });
    channels.watch('job', first);
    channels.publish(message('job', 'STARTED'));
    channels.publish(message('job', 'ENDED'));
    assert.deepEqual(joining.got.messages, ['{"command": "STARTED"}', '{"command": "ENDED"}']);
  });

  it('ignores leaving twice, or leaving a channel that is gone', () => {
    const { channels } = bounded();
    const one = listener();
    channels.watch('job', one);
    channels.publish(message('job', 'STARTED'));
    channels.unwatch('job', one);
    channels.unwatch('job', one);
    channels.unwatch('nowhere', one);
    assert.deepEqual(channels.stats(), { channels: 1, timers: 1, subscribers: 0 });
  });
});

describe('Channels: one timer for every deadline', () => {
  it('finishes and forgets interleaved channels each at its own deadline, with one pending action', () => {
    const { scheduler, channels } = bounded();
    const pending = () => scheduler.actions.filter((a) => !a.closed).length;
    const idle = record(channels, 'idle');
    const failing = record(channels, 'failing');
    const late = record(channels, 'late');
    /** Which watchers completed, and how many channels are held, at `frame`. */
    const at = (frame: number): string => {
      advanceTo(scheduler, frame);
      const done = Object.entries({ idle, failing, late })
        .filter(([, watcher]) => watcher.seen.completed)
        .map(([name]) => name);
      return `${done.join(',')} / ${channels.size}`;
    };
    channels.publish(message('idle', 'STARTED'));
    advanceTo(scheduler, 100);
    channels.publish(message('failing', 'FAILED'));
    advanceTo(scheduler, 200);
    channels.publish(message('done', 'STARTED'));
    channels.publish(message('done', 'FINISHED'));
    assert.equal(pending(), 1);
    assert.equal(at(100 + GRACE - 1), ' / 4');
    assert.equal(at(100 + GRACE), 'failing / 4');
    assert.equal(at(200 + RETENTION - 1), 'failing / 4');
    assert.equal(at(200 + RETENTION), 'failing / 3');
    assert.equal(at(100 + GRACE + RETENTION), 'failing / 2');
    // `late` got no message yet: it is as old as `idle`, until this one.
    assert.equal(at(IDLE / 2), 'failing / 2');
    channels.publish(message('late', 'STARTED'));
    assert.equal(pending(), 1);
    assert.equal(at(IDLE - 1), 'failing / 2');
    assert.equal(at(IDLE), 'idle,failing / 2');
    assert.equal(at(IDLE + RETENTION), 'idle,failing / 1');
    assert.equal(at(IDLE / 2 + IDLE - 1), 'idle,failing / 1');
    assert.equal(at(IDLE / 2 + IDLE), 'idle,failing,late / 1');
    assert.equal(pending(), 1);
    assert.equal(at(IDLE / 2 + IDLE + RETENTION), 'idle,failing,late / 0');
    assert.deepEqual(channels.stats(), { channels: 0, timers: 0, subscribers: 0 });
    assert.equal(pending(), 0);
  });
});
