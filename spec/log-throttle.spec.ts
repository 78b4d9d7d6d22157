import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { LogThrottle } from '../src/log-throttle';

function setup(burst = 3, windowMs = 10_000) {
  const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
  const lines: [number, string][] = [];
  const throttle = new LogThrottle((line) => lines.push([scheduler.now(), line]), {
    burst,
    windowMs,
    what: 'more dropped messages',
    scheduler,
  });
  return { scheduler, lines, throttle };
}

describe('LogThrottle', () => {
  it('writes a burst, counts the rest, and sums them up when the window ends', () => {
    const { scheduler, lines, throttle } = setup();
    for (let i = 1; i <= 1000; i++) throttle.log(`bad ${i}`);
    assert.deepEqual(lines, [
      [0, 'bad 1'],
      [0, 'bad 2'],
      [0, 'bad 3'],
    ]);
    scheduler.flush();
    assert.deepEqual(lines.slice(3), [
      [10_000, '997 more dropped messages in the last 10 s, not logged one by one'],
    ]);
  });

  it('starts a fresh window, with a fresh burst, after the last one ended', () => {
    const { scheduler, lines, throttle } = setup(1);
    throttle.log('a');
    throttle.log('b');
    scheduler.flush();
    scheduler.schedule(() => {
      throttle.log('c');
      throttle.log('d');
    }, 5_000);
    scheduler.flush();
    assert.deepEqual(lines, [
      [0, 'a'],
      [10_000, '1 more dropped messages in the last 10 s, not logged one by one'],
      [15_000, 'c'],
      [25_000, '1 more dropped messages in the last 10 s, not logged one by one'],
    ]);
  });

  it('writes no summary and holds no timer when nothing was suppressed', () => {
    const { scheduler, lines, throttle } = setup();
    throttle.log('only');
    assert.equal(scheduler.actions.length, 1);
    scheduler.flush();
    assert.deepEqual(lines, [[0, 'only']]);
    assert.equal(scheduler.actions.length, 0);
  });

  it('close() writes the pending count and cancels the timer', () => {
    const { scheduler, lines, throttle } = setup(1);
    throttle.log('a');
    throttle.log('b');
    throttle.log('c');
    throttle.close();
    assert.equal(scheduler.actions.length, 0);
    assert.deepEqual(
      lines.map(([, line]) => line),
      ['a', '2 more dropped messages in the last 10 s, not logged one by one'],
    );
  });
});
