import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import WebSocket from 'ws';
import { Channels } from '../src/channels';
import { formatMessage } from '../src/message';
import { MAX_CLIENT_MESSAGE_BYTES, WsServer, type WsServerOptions } from '../src/ws-server';
import { eventually } from './helpers/eventually';
import { memoryLogger } from './helpers/memory-logger';
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

/** A WsServer over a real channel registry, on a free port, with virtual time. */
async function serve(options: Partial<WsServerOptions> = {}) {
  const logger = memoryLogger();
  const scheduler = new VirtualTimeScheduler(VirtualAction, Infinity);
  const channels = new Channels({ retentionMs: 60_000, logger, scheduler });
  const server = new WsServer({
    endpoint: { host: '127.0.0.1', port: 0 },
    channels,
    logger,
    scheduler,
    ...options,
  });
  const { port } = await server.listen();
  const url = `ws://127.0.0.1:${port}/`;
  const clients: RecordingClient[] = [];
  return {
    logger,
    channels,
    server,
    url,
    client(channel: string | undefined, clientOptions: WebSocket.ClientOptions = {}) {
      const client = new RecordingClient(url, channel, clientOptions);
      clients.push(client);
      return client;
    },
    publish(channel: string, ...values: string[]) {
      channels.publish({
        kind: 'progress',
        channel,
        command: values[0],
        json: formatMessage(values),
        terminal: values[0] === 'FINISHED',
      });
    },
    /** Resolves once `count` clients are subscribed. */
    subscribed(count: number) {
      return eventually(() => channels.stats().subscribers === count, `${count} subscribers`);
    },
    close() {
      for (const client of clients) client.socket.terminate();
      server.close();
      channels.close();
    },
  };
}

type Served = Awaited<ReturnType<typeof serve>>;

/** A text frame as a browser sends it: masked, as RFC 6455 requires of clients. */
function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = payload.map((byte, i) => byte ^ mask[i % 4]);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]);
}

/** A raw TCP client that completes the WebSocket handshake, subscribes and never reads again. */
function rawSubscriber(port: number, channel: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    socket.once('data', (data) => {
      if (!data.toString().startsWith('HTTP/1.1 101')) {
        reject(new Error(`upgrade refused: ${data.toString().split('\r\n')[0]}`));
        return;
      }
      socket.pause();
      socket.write(maskedTextFrame(channel));
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

/** The HTTP status an upgrade was refused with. */
async function refusal(client: RecordingClient): Promise<string> {
  const error = await client.opened.then(
    () => new Error('the upgrade was accepted'),
    (e: Error) => e,
  );
  return error.message;
}

describe('WebSocket server limits', () => {
  let served: Served | undefined;
  const start = async (options: Partial<WsServerOptions> = {}) => {
    served = await serve(options);
    return served;
  };
  afterEach(() => {
    served?.close();
    served = undefined;
  });

  it('closes with 1009 when the first message is over 256 bytes, and accepts 256', async () => {
    const s = await start();
    const tooLong = s.client('j'.repeat(MAX_CLIENT_MESSAGE_BYTES + 1));
    assert.deepEqual(await withTimeout(tooLong.closed), {
      code: 1009,
      reason: 'message over 256 bytes; a channel id is short',
    });
    assert.equal(s.logger.find('info', 'closed with 1009').length, 1);
    const longest = s.client('j'.repeat(MAX_CLIENT_MESSAGE_BYTES));
    await s.subscribed(1);
    s.publish('j'.repeat(MAX_CLIENT_MESSAGE_BYTES), 'FINISHED');
    assert.equal((await withTimeout(longest.closed)).code, 1000);
    assert.deepEqual(longest.commands(), ['FINISHED']);
  });

  it('drops a connection whose message is over 16 KiB before reading it', async () => {
    const s = await start();
    const huge = s.client('j'.repeat(16 * 1024 + 1));
    // uWS cuts the TCP connection without a close frame: the client sees 1006.
    assert.equal((await withTimeout(huge.closed)).code, 1006);
    await eventually(() => s.server.connectionCount === 0, 'the connection to be dropped');
  });

  it('ignores a flood of messages after the channel id and keeps relaying', async () => {
    const s = await start();
    const client = s.client('job');
    await s.subscribed(1);
    for (let i = 0; i < 10_000; i++) client.socket.send(`other-channel-${i}`);
    await new Promise<void>((resolve) => client.socket.send('last', () => resolve()));
    s.publish('job', 'STARTED');
    s.publish('job', 'FINISHED');
    assert.equal((await withTimeout(client.closed)).code, 1000);
    assert.deepEqual(client.commands(), ['STARTED', 'FINISHED']);
    assert.equal(s.channels.size, 1);
    assert.deepEqual(s.logger.lines, [
      { level: 'debug', message: 'client 127.0.0.1 subscribed to channel job' },
    ]);
  });

  it('closes a client that stops reading with 1013, while another on the channel gets everything', async () => {
    const maxBackpressure = 256 * 1024;
    const s = await start({ maxBackpressure });
    const reader = s.client('busy');
    const stalled = s.client('busy');
    await stalled.opened;
    // The ws client stops reading its TCP socket: kernel buffers fill, then ours.
    (stalled.socket as unknown as { _socket: Socket })._socket.pause();
    const port = Number(new URL(s.url).port);
    const raw = await rawSubscriber(port, 'busy');
    await s.subscribed(3);
    const count = 300;
    const payload = 'x'.repeat(60_000);
    for (let i = 0; i < count; i++) {
      s.publish('busy', 'TASK', `${i}`, payload);
      // Spread over event-loop turns, as messages from the broker are.
      if (i % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
    }
    s.publish('busy', 'FINISHED');
    assert.equal((await withTimeout(reader.closed, 30_000)).code, 1000);
    assert.equal(reader.messages.length, count + 1);
    reader.messages.slice(0, count).forEach((json, i) => {
      assert.equal(json, formatMessage(['TASK', `${i}`, payload]), `message ${i}`);
    });
    await eventually(() => s.server.connectionCount === 0, 'the stalled clients to be closed');
    const slow = s.logger.find('info', 'closed with 1013: client is not reading fast enough');
    assert.equal(slow.length, 2);
    // The stalled client learns of the close once it reads again.
    (stalled.socket as unknown as { _socket: Socket })._socket.resume();
    await withTimeout(stalled.closed, 30_000);
    assert.ok(stalled.messages.length < count, `${stalled.messages.length} messages`);
    raw.destroy();
    assert.equal(s.channels.stats().subscribers, 0);
  });

  it('paces a history replay far larger than max_backpressure instead of closing the client', async () => {
    const s = await start({ maxBackpressure: 64 * 1024 });
    const payload = 'y'.repeat(60_000);
    for (let i = 0; i < 100; i++) s.publish('big', 'TASK', `${i}`, payload);
    s.publish('big', 'FINISHED');
    const late = s.client('big');
    assert.equal((await withTimeout(late.closed, 30_000)).code, 1000);
    assert.equal(late.messages.length, 101);
    assert.equal(late.messages[99], formatMessage(['TASK', '99', payload]));
    assert.deepEqual(s.logger.find('info', '1013'), []);
  });

  it('refuses upgrades past max_connections with HTTP 503, and accepts again below it', async () => {
    const s = await start({ maxConnections: 2 });
    const [a, b] = [s.client('a'), s.client('b')];
    await Promise.all([a.opened, b.opened]);
    const third = s.client('c');
    assert.match(await refusal(third), /Unexpected server response: 503/);
    assert.equal(s.server.connectionCount, 2);
    assert.equal(
      s.logger.find('info', 'with HTTP 503 Service Unavailable: max_connections (2) reached')
        .length,
      1,
    );
    a.close();
    await eventually(() => s.server.connectionCount === 1, 'a to close');
    const fourth = s.client('d');
    await withTimeout(fourth.opened);
  });

  it('refuses upgrades from origins not listed in allowed_origins with HTTP 403', async () => {
    const s = await start({ allowedOrigins: ['https://recodex.example.org'] });
    const listed = s.client('job', { origin: 'https://recodex.example.org' });
    const upperCase = s.client('job', { origin: 'https://ReCodEx.example.org' });
    await Promise.all([listed.opened, upperCase.opened]);
    const other = s.client('job', { origin: 'https://evil.example.org' });
    assert.match(await refusal(other), /Unexpected server response: 403/);
    const none = s.client('job');
    assert.match(await refusal(none), /Unexpected server response: 403/);
    assert.equal(s.server.connectionCount, 2);
    assert.equal(
      s.logger.find('info', 'HTTP 403 Forbidden: origin "https://evil.example.org" is not allowed')
        .length,
      1,
    );
    assert.equal(s.logger.find('info', 'HTTP 403 Forbidden: origin "" is not allowed').length, 1);
  });

  it('accepts any origin when allowed_origins is empty', async () => {
    const s = await start({ allowedOrigins: [] });
    const client = s.client('job', { origin: 'https://anywhere.example.org' });
    await withTimeout(client.opened);
  });

  it('pings quiet clients and drops one that does not answer after websocket_idle_timeout', async () => {
    // uWS' smallest idle timeout; this test takes that long in real time.
    const s = await start({ idleTimeoutSeconds: 8 });
    const answers = s.client('job');
    const silent = s.client('job', { autoPong: false });
    await s.subscribed(2);
    const closed = await withTimeout(silent.closed, 30_000, 'the silent client to be dropped');
    assert.equal(closed.code, 1006);
    assert.equal(answers.socket.readyState, WebSocket.OPEN);
    s.publish('job', 'FINISHED');
    assert.equal((await withTimeout(answers.closed)).code, 1000);
    assert.deepEqual(answers.commands(), ['FINISHED']);
  });
});
