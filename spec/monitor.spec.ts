import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startMonitor, type RunningMonitor } from './helpers/running-monitor';
import { withTimeout } from './helpers/ws-client';

const TASK_OK = (id: string) => ['TASK', id, 'COMPLETED'];
const json = (...values: string[]) =>
  JSON.stringify(
    Object.fromEntries(values.map((v, i) => [['command', 'task_id', 'task_state'][i], v])),
  )
    .replace(/":/g, '": ')
    .replace(/,"/g, ', "');

/** Polls `condition` until it holds, failing after `timeoutMs`. */
async function eventually(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('Monitor end to end', () => {
  let running: RunningMonitor | undefined;
  const start = async (...args: Parameters<typeof startMonitor>) => {
    running = await startMonitor(...args);
    return running;
  };
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('relays live messages in order, byte for byte, and closes with 1000 after FINISHED', async () => {
    const m = await start();
    const client = m.client('job-1');
    await client.opened;
    await eventually(() => m.monitor.connectionCount === 1, 'the subscription');
    await m.broker.send('job-1', 'STARTED');
    await m.broker.send('job-1', ...TASK_OK('compile'));
    await m.broker.send('job-1', 'TASK', 'run', 'FAILED');
    await m.broker.send('job-1', 'FINISHED');
    const closed = await withTimeout(client.closed, 5000, 'the close');
    assert.deepEqual(client.messages, [
      '{"command": "STARTED"}',
      '{"command": "TASK", "task_id": "compile", "task_state": "COMPLETED"}',
      '{"command": "TASK", "task_id": "run", "task_state": "FAILED"}',
      '{"command": "FINISHED"}',
    ]);
    assert.equal(closed.code, 1000);
  });

  it('replays the history to a late subscriber, then goes on live', async () => {
    const m = await start();
    const early = m.client('job');
    await early.opened;
    await eventually(() => m.monitor.connectionCount === 1, 'the first subscription');
    for (let i = 0; i < 50; i++) await m.broker.send('job', ...TASK_OK(`t${i}`));
    await early.waitForMessages(50);
    const late = m.client('job');
    await late.waitForMessages(50);
    await m.broker.send('job', 'FINISHED');
    await withTimeout(late.closed);
    await withTimeout(early.closed);
    assert.equal(late.messages.length, 51);
    assert.deepEqual(late.messages, early.messages);
    assert.deepEqual(
      late.messages.slice(0, 50),
      Array.from({ length: 50 }, (_, i) => json(...TASK_OK(`t${i}`))),
    );
  });

  it('gives a subscriber after FINISHED the whole history and then the close', async () => {
    const m = await start();
    await m.broker.send('done', 'STARTED');
    await m.broker.send('done', 'FINISHED');
    // The first client proves the messages arrived before the late one subscribes.
    await withTimeout(m.client('done').closed);
    const late = m.client('done');
    const closed = await withTimeout(late.closed);
    assert.deepEqual(late.commands(), ['STARTED', 'FINISHED']);
    assert.equal(closed.code, 1000);
  });

  it('gives two subscribers on one channel the same whole stream', async () => {
    const m = await start();
    const [a, b] = [m.client('shared'), m.client('shared')];
    await Promise.all([a.opened, b.opened]);
    await eventually(() => m.monitor.connectionCount === 2, 'both subscriptions');
    await m.broker.send('shared', 'STARTED');
    await m.broker.send('shared', ...TASK_OK('x'));
    await m.broker.send('shared', 'FINISHED');
    await Promise.all([withTimeout(a.closed), withTimeout(b.closed)]);
    assert.deepEqual(a.commands(), ['STARTED', 'TASK', 'FINISHED']);
    assert.deepEqual(b.messages, a.messages);
  });

  it('keeps many interleaved channels apart and in order', async () => {
    const m = await start();
    const channels = Array.from({ length: 20 }, (_, i) => `job-${i}`);
    const clients = channels.map((c) => m.client(c));
    await Promise.all(clients.map((c) => c.opened));
    await eventually(() => m.monitor.connectionCount === 20, 'all subscriptions');
    for (let step = 0; step < 10; step++) {
      for (const channel of channels)
        await m.broker.send(channel, ...TASK_OK(`${channel}/${step}`));
    }
    for (const channel of channels) await m.broker.send(channel, 'FINISHED');
    await Promise.all(clients.map((c) => withTimeout(c.closed)));
    clients.forEach((client, i) => {
      const expected = Array.from({ length: 10 }, (_, step) =>
        json(...TASK_OK(`job-${i}/${step}`)),
      );
      assert.deepEqual(client.messages, [...expected, '{"command": "FINISHED"}']);
    });
  });

  it('drops malformed messages with a warning and still relays the next good one', async () => {
    const m = await start();
    const client = m.client('good');
    await client.opened;
    await eventually(() => m.monitor.connectionCount === 1, 'the subscription');
    await m.broker.send('bad-1');
    await m.broker.send('bad-2', Buffer.from([0xff, 0xfe]));
    await m.broker.send(Buffer.from([0xc3, 0x28]), 'STARTED');
    await m.broker.send('', 'STARTED');
    await m.broker.send('bad-3', 'TASK', 'x'.repeat(70_000), 'COMPLETED');
    // Glued behind a bare `progress`, as the broker does: still a good message.
    await m.broker.send('recodex-monitor', 'good', 'STARTED');
    await client.waitForMessages(1);
    assert.deepEqual(client.messages, ['{"command": "STARTED"}']);
    assert.equal(m.logger.find('warning', 'channel bad-1: no command frame').length, 1);
    assert.equal(
      m.logger.find('warning', 'channel bad-2: command frame is not valid UTF-8').length,
      1,
    );
    assert.equal(m.logger.find('warning', 'channel id is not valid UTF-8').length, 1);
    assert.equal(m.logger.find('warning', 'empty channel id').length, 1);
    assert.equal(m.logger.find('warning', 'channel bad-3: frame 3 has 70000 bytes').length, 1);
  });

  it('drops a message for a channel that already finished, with a warning', async () => {
    const m = await start();
    await m.broker.send('over', 'FINISHED');
    await m.broker.send('over', 'STARTED');
    await eventually(
      () => m.logger.find('warning', 'already finished').length === 1,
      'the warning',
    );
    assert.match(
      m.logger.find('warning', 'already finished')[0],
      /dropped STARTED for channel over/,
    );
    const late = m.client('over');
    await withTimeout(late.closed);
    assert.deepEqual(late.commands(), ['FINISHED']);
  });

  it('unsubscribes a client that vanishes, and keeps serving the others', async () => {
    const m = await start();
    const [gone, stays] = [m.client('job'), m.client('job')];
    await Promise.all([gone.opened, stays.opened]);
    await eventually(() => m.monitor.connectionCount === 2, 'both subscriptions');
    gone.socket.terminate();
    await eventually(() => m.monitor.connectionCount === 1, 'the vanished client to be dropped');
    await m.broker.send('job', 'STARTED');
    await m.broker.send('job', 'FINISHED');
    await withTimeout(stays.closed);
    assert.deepEqual(stays.commands(), ['STARTED', 'FINISHED']);
  });

  it('ignores the exit command with a warning when remote exit is off', async () => {
    const m = await start();
    let stopped = false;
    m.monitor.onStopped(() => {
      stopped = true;
    });
    await m.broker.send('0', 'exit');
    await m.broker.send('after', 'STARTED');
    const client = m.client('after');
    await client.waitForMessages(1);
    assert.equal(stopped, false);
    assert.equal(m.logger.find('warning', 'allow_remote_exit is off').length, 1);
  });

  it('shuts down on the exit command when allowed, closing clients with 1001', async () => {
    const m = await start({ allowRemoteExit: true });
    const client = m.client('job');
    await client.opened;
    await eventually(() => m.monitor.connectionCount === 1, 'the subscription');
    const stopped = new Promise<boolean>((resolve) => m.monitor.onStopped(resolve));
    await m.broker.send('0', 'exit');
    assert.equal(await withTimeout(stopped), false);
    assert.equal((await withTimeout(client.closed)).code, 1001);
  });
});
