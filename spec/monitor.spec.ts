import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { Router } from 'zeromq';
import { DEFAULT_CONFIG } from '../src/config';
import { parseFrames } from '../src/message';
import { Monitor } from '../src/monitor';
import { FakeBroker } from './helpers/broker';
import { memoryLogger } from './helpers/memory-logger';
import { frames } from './helpers/random-frames';
import { eventually } from './helpers/eventually';
import { monitorPerTest, startMonitor } from './helpers/running-monitor';
import { withTimeout } from './helpers/ws-client';

const SENDER = Buffer.from([0x00, 0x6b, 0x8b, 0x45, 0x67]);
const TASK_OK = (id: string) => ['TASK', id, 'COMPLETED'];
const json = (...values: string[]) =>
  JSON.stringify(
    Object.fromEntries(values.map((v, i) => [['command', 'task_id', 'task_state'][i], v])),
  )
    .replace(/":/g, '": ')
    .replace(/,"/g, ', "');

describe('Monitor end to end', () => {
  const start = monitorPerTest();

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

describe('Monitor under hostile input and over time', () => {
  const start = monitorPerTest();

  it('survives thousands of random multipart messages on its socket, relaying exactly the valid ones', async () => {
    const maxFrameBytes = 64;
    await fc.assert(
      fc.asyncProperty(
        fc.array(frames(maxFrameBytes), { minLength: 300, maxLength: 300 }),
        async (storm) => {
          const m = await startMonitor({ maxFrameBytes });
          try {
            let stopped = false;
            m.monitor.onStopped(() => {
              stopped = true;
            });
            // What the monitor must do, from the parser the unit property test pins down.
            const histories = new Map<string, { messages: string[]; finished: boolean }>();
            let warnings = 0;
            for (const message of storm) {
              // ZeroMQ itself discards a message that is nothing but its address.
              if (message.length === 0) continue;
              await m.broker.send(...message);
              const parsed = parseFrames([SENDER, ...message], {
                routingId: 'recodex-monitor',
                maxFrameBytes,
              });
              if (parsed.kind !== 'progress') {
                warnings += 1;
                continue;
              }
              const history = histories.get(parsed.channel) ?? { messages: [], finished: false };
              histories.set(parsed.channel, history);
              if (history.finished) {
                warnings += 1;
                continue;
              }
              history.messages.push(parsed.json);
              history.finished = parsed.terminal;
            }
            // A normal message afterwards is still delivered.
            const after = m.client('after-the-storm');
            await after.opened;
            await eventually(() => m.monitor.connectionCount === 1, 'the subscription');
            await m.broker.send('after-the-storm', 'FINISHED');
            assert.equal((await withTimeout(after.closed)).code, 1000);
            assert.deepEqual(after.commands(), ['FINISHED']);
            // Every valid message reached its channel, in order.
            for (const [channel, history] of histories) {
              const client = m.client(channel);
              await client.waitForMessages(history.messages.length);
              if (history.finished) assert.equal((await withTimeout(client.closed)).code, 1000);
              assert.deepEqual(
                client.messages,
                history.messages,
                `channel ${JSON.stringify(channel)}`,
              );
            }
            assert.equal(stopped, false);
            await m.stop();
            // Every drop was counted: one by one up to the burst, the rest in the summary.
            const lines = m.logger.lines.filter((l) => l.level === 'warning');
            const summary = lines
              .map((l) => /^(\d+) more dropped messages/.exec(l.message))
              .reduce((sum, match) => sum + (match ? Number(match[1]) : 0), 0);
            assert.equal(lines.length - (summary > 0 ? 1 : 0) + summary, warnings);
            assert.ok(lines.length <= 21, `${lines.length} warning lines`);
          } finally {
            await m.stop();
          }
        },
      ),
      { numRuns: 3, endOnFailure: true },
    );
  });

  it('writes a bounded number of warnings for a flood of malformed messages', async () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
    const m = await start({}, scheduler);
    for (let i = 0; i < 1000; i++) await m.broker.send(`bad-${i}`);
    await m.broker.send('good', 'STARTED');
    const client = m.client('good');
    await client.waitForMessages(1);
    assert.equal(m.logger.find('warning', 'no command frame').length, 20);
    scheduler.flush();
    assert.deepEqual(m.logger.find('warning', 'more dropped messages'), [
      '980 more dropped messages in the last 10 s, not logged one by one',
    ]);
  });

  it('is not disturbed by the broker restarting: clients only miss what was sent meanwhile', async () => {
    const m = await start();
    const client = m.client('job');
    await client.opened;
    await eventually(() => m.monitor.connectionCount === 1, 'the subscription');
    await m.broker.send('job', 'STARTED');
    await client.waitForMessages(1);
    m.broker.close();
    const restarted = new FakeBroker(m.endpoints.zeromq.port);
    try {
      await restarted.send('job', 'TASK', 'compile', 'COMPLETED');
      await restarted.send('job', 'FINISHED');
      assert.equal((await withTimeout(client.closed)).code, 1000);
      assert.deepEqual(client.commands(), ['STARTED', 'TASK', 'FINISHED']);
    } finally {
      restarted.close();
    }
  });

  it('closes the clients of a job whose broker FAILED never finishes, after failed_grace', async () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
    const m = await start({}, scheduler);
    const client = m.client('job');
    await client.opened;
    await eventually(() => m.monitor.connectionCount === 1, 'the subscription');
    await m.broker.send('job', 'FAILED');
    await client.waitForMessages(1);
    scheduler.maxFrames = scheduler.now() + 30_000;
    scheduler.flush();
    assert.equal((await withTimeout(client.closed)).code, 1000);
    assert.deepEqual(client.commands(), ['FAILED']);
    // Retention follows; after it nothing of the job is left.
    assert.equal(m.monitor.channelCount, 1);
    scheduler.maxFrames = Infinity;
    scheduler.flush();
    assert.equal(m.monitor.channelCount, 0);
    await eventually(() => m.monitor.connectionCount === 0, 'the connection to go');
  });

  /** A monitor on free ports whose ZeroMQ socket is `socket`. */
  function monitorWith(socket: Router) {
    const logger = memoryLogger();
    const monitor = new Monitor({
      config: {
        ...DEFAULT_CONFIG,
        websocket: { host: '127.0.0.1', port: 0 },
        zeromq: { host: '127.0.0.1', port: 0 },
        metrics: { host: '127.0.0.1', port: 0 },
      },
      logger,
      zmqSocket: socket,
    });
    const stopped = new Promise<boolean>((resolve) => monitor.onStopped(resolve));
    return { logger, monitor, stopped };
  }

  it('stops with a failure, instead of running deaf, when its ZeroMQ socket keeps failing', async () => {
    class DeadRouter extends Router {
      override async receive(): Promise<Buffer[]> {
        throw new Error('injected receive failure');
      }
    }
    const { logger, monitor, stopped } = monitorWith(
      new DeadRouter({ routingId: 'recodex-monitor', linger: 0 }),
    );
    await monitor.start();
    assert.equal(await withTimeout(stopped), true);
    assert.equal(logger.find('critical', 'ZeroMQ receive keeps failing').length, 1);
    assert.equal(logger.find('error', 'shutting down: the ZeroMQ socket is dead').length, 1);
  });

  it('stops with a failure when its ZeroMQ socket closes without being asked to', async () => {
    class ClosingRouter extends Router {
      override async receive(): Promise<Buffer[]> {
        this.close();
        return super.receive();
      }
    }
    const { logger, monitor, stopped } = monitorWith(
      new ClosingRouter({ routingId: 'recodex-monitor', linger: 0 }),
    );
    await monitor.start();
    assert.equal(await withTimeout(stopped), true);
    assert.equal(logger.find('error', 'shutting down: the ZeroMQ socket closed').length, 1);
  });
});
