import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMessage } from '../../../src/message';
import { FINISHED_TEXT, messageFrames, readDelivery } from '../../../src/tools/bench/script';
import { Problems, StreamCheck } from '../../../src/tools/bench/verify';

/** What a correct monitor sends for message `index` of `count` (the monitor's own encoder). */
const text = (index: number, count: number, sentAt?: number): string =>
  formatMessage(messageFrames(index, count, sentAt));

function check(
  count: number,
  latencies: number[] = [],
): { check: StreamCheck; problems: Problems } {
  const problems = new Problems();
  return { check: new StreamCheck('sub', count, problems, (t) => latencies.push(t)), problems };
}

describe('the bench script', () => {
  it('reads back exactly what the monitor encodes, send times included', () => {
    assert.deepEqual(readDelivery(text(3, 10)), {
      kind: 'task',
      index: 3,
      sentAtMicros: undefined,
    });
    assert.deepEqual(readDelivery(text(0, 10, 1234567)), {
      kind: 'task',
      index: 0,
      sentAtMicros: 1234567,
    });
    assert.equal(text(9, 10), FINISHED_TEXT);
    assert.deepEqual(readDelivery(FINISHED_TEXT), { kind: 'finished' });
  });

  it('calls anything else unexpected', () => {
    for (const garbage of [
      '{"command":"TASK","task_id":"1","task_state":"COMPLETED"}',
      '{"command": "TASK", "task_id": "01", "task_state": "COMPLETED"}',
      '{"command": "TASK", "task_id": "x", "task_state": "COMPLETED"}',
      '{"command": "FINISHED"} ',
      '',
    ]) {
      assert.deepEqual(readDelivery(garbage), { kind: 'unexpected' }, garbage);
    }
  });
});

describe('StreamCheck', () => {
  it('accepts the whole stream in order, then the close with 1000', () => {
    const latencies: number[] = [];
    const { check: c, problems } = check(4, latencies);
    for (let i = 0; i < 4; i++) c.message(text(i, 4, 100 + i));
    c.close(1000);
    assert.equal(problems.count, 0, problems.list().join('\n'));
    assert.equal(c.received, 4);
    assert.equal(c.complete, true);
    assert.deepEqual(latencies, [100, 101, 102]);
  });

  it('reports a lost message once, and the stream goes on', () => {
    const { check: c, problems } = check(5);
    for (const i of [0, 2, 3, 4]) c.message(text(i, 5));
    c.close(1000);
    assert.deepEqual(problems.list(), ['sub: messages #1 to #1 missing before #2']);
    assert.equal(c.received, 4);
  });

  it('reports a duplicate and a reordering', () => {
    const { check: c, problems } = check(5);
    for (const i of [0, 1, 1, 3, 2, 4]) c.message(text(i, 5));
    c.close(1000);
    assert.deepEqual(problems.list(), [
      'sub: message #1 again (duplicated or reordered)',
      'sub: messages #2 to #2 missing before #3',
      'sub: message #2 again (duplicated or reordered)',
    ]);
  });

  it('reports anything delivered after FINISHED', () => {
    const { check: c, problems } = check(2);
    c.message(text(0, 2));
    c.message(FINISHED_TEXT);
    c.message(text(0, 2));
    c.close(1000);
    assert.equal(problems.count, 1);
    assert.match(problems.list()[0], /delivered after FINISHED/);
  });

  it('reports a FINISHED that comes too early as lost messages', () => {
    const { check: c, problems } = check(4);
    c.message(text(0, 4));
    c.message(FINISHED_TEXT);
    c.close(1000);
    assert.deepEqual(problems.list(), ['sub: messages #1 to #2 missing before #3']);
  });

  it('reports task messages beyond those sent, and garbage', () => {
    const { check: c, problems } = check(2);
    c.message(text(1, 3));
    c.message('hello');
    assert.deepEqual(problems.list(), [
      'sub: message #1 is beyond the 2 sent',
      'sub: unexpected message: hello',
    ]);
  });

  it('reports a close before FINISHED, and a close with another code', () => {
    const early = check(3);
    early.check.message(text(0, 3));
    early.check.close(1006);
    assert.deepEqual(early.problems.list(), ['sub: closed with 1006 after 1 of 3 messages']);
    const wrongCode = check(1);
    wrongCode.check.message(FINISHED_TEXT);
    wrongCode.check.close(1001);
    assert.deepEqual(wrongCode.problems.list(), [
      'sub: closed with 1001 after FINISHED, expected 1000',
    ]);
  });

  it('reports a failed connection unless the stream was already complete', () => {
    const failed = check(2);
    failed.check.fail('connection failed: ECONNREFUSED');
    assert.deepEqual(failed.problems.list(), [
      'sub: connection failed: ECONNREFUSED after 0 of 2 messages',
    ]);
    const done = check(1);
    done.check.message(FINISHED_TEXT);
    done.check.close(1000);
    done.check.fail('timed out');
    assert.equal(done.problems.count, 0);
  });
});

describe('Problems', () => {
  it('keeps the first few in full and counts the rest', () => {
    const problems = new Problems(2);
    for (let i = 0; i < 5; i++) problems.add(`problem ${i}`);
    assert.equal(problems.count, 5);
    assert.deepEqual(problems.list(), ['problem 0', 'problem 1', '... and 3 more']);
  });
});
