import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { startMonitor, type RunningMonitor } from './helpers/running-monitor';
import { RecordingClient, withTimeout } from './helpers/ws-client';

describe('WebSocket server', () => {
  let running: RunningMonitor | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  it('serves any path', async () => {
    running = await startMonitor();
    await running.broker.send('job', 'FINISHED');
    const port = running.endpoints.websocket.port;
    for (const path of ['/', '/ws', '/monitor/deep/path?x=1']) {
      const client = new RecordingClient(`ws://127.0.0.1:${port}${path}`, 'job');
      assert.equal((await withTimeout(client.closed)).code, 1000, path);
      assert.deepEqual(client.commands(), ['FINISHED'], path);
    }
  });

  it('closes with 1003 and a reason when the first message is binary', async () => {
    running = await startMonitor();
    const client = running.client(undefined);
    await client.opened;
    client.socket.send(Buffer.from('job'), { binary: true });
    assert.deepEqual(await withTimeout(client.closed), {
      code: 1003,
      reason: 'expected the channel id as a text message',
    });
    assert.equal(running.logger.find('info', 'closed with 1003').length, 1);
  });

  it('closes with 1008 and a reason when the first message is empty', async () => {
    running = await startMonitor();
    const client = running.client('');
    assert.deepEqual(await withTimeout(client.closed), { code: 1008, reason: 'empty channel id' });
  });

  it('ignores later messages, including a second channel id', async () => {
    running = await startMonitor();
    const client = running.client('first');
    await client.opened;
    client.socket.send('second');
    client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
    await running.broker.send('second', 'STARTED');
    await running.broker.send('first', 'STARTED');
    await running.broker.send('first', 'FINISHED');
    assert.equal((await withTimeout(client.closed)).code, 1000);
    assert.deepEqual(client.commands(), ['STARTED', 'FINISHED']);
  });

  it('closes every client with 1001 on shutdown and refuses new ones', async () => {
    running = await startMonitor();
    const clients = [running.client('a'), running.client('b'), running.client(undefined)];
    await Promise.all(clients.map((c) => c.opened));
    await running.monitor.stop();
    for (const client of clients) {
      assert.equal((await withTimeout(client.closed)).code, 1001);
    }
    const refused = new RecordingClient(running.url, 'a');
    await assert.rejects(refused.opened);
  });
});
