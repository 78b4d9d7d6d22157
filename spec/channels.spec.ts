import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Channels } from '../src/channels';
import { formatMessage, type ProgressMessage } from '../src/message';

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

  it('close() cancels every retention timer and forgets every channel', () => {
    const scheduler = virtualTime();
    const channels = new Channels({ retentionMs: RETENTION, scheduler });
    for (let i = 0; i < 100; i++) channels.publish(message(`job-${i}`, 'FINISHED'));
    assert.equal(scheduler.actions.length, 100);
    channels.close();
    assert.equal(channels.size, 0);
    assert.equal(scheduler.actions.filter((a) => !a.closed).length, 0);
  });
});
