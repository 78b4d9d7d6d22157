/**
 * The floor of the benchmark: the least work any monitor could do while producing the same
 * bytes. uWS and zeromq.js, a Map of arrays, string concatenation; no RxJS, no logging, no
 * batching, no validation of frames. It keeps the protocol the bench checks (whole history
 * then live messages, in order, close 1000 after `FINISHED`, five minutes of retention) and
 * escapes values with the same Python-compatible `pythonJsonString` as the monitor, whose
 * fast path is one regular-expression test for plain ASCII: no correct encoder does less.
 *
 * Run as `node naive-monitor.js HOST WS_PORT ZMQ_PORT`; prints `{"websocket":P,"zeromq":Q}`
 * once listening. Not a product: malformed input may break it.
 */
import type { WebSocket } from 'uWebSockets.js';
import { Router } from 'zeromq';
import { pythonJsonString } from '../../message';
import { loadUws } from '../../uws';

interface Subscriber {
  channel: string | undefined;
}

interface Channel {
  readonly history: string[];
  subscribers: WebSocket<Subscriber>[];
  finished: boolean;
}

const RETENTION_MS = 300_000;

async function main(host: string, wsPort: number, zmqPort: number): Promise<void> {
  const uws = loadUws();
  const channels = new Map<string, Channel>();
  const channelFor = (id: string): Channel => {
    let channel = channels.get(id);
    if (channel === undefined) {
      channel = { history: [], subscribers: [], finished: false };
      channels.set(id, channel);
    }
    return channel;
  };

  const app = uws.App().ws<Subscriber>('/*', {
    compression: uws.DISABLED,
    maxPayloadLength: 256,
    idleTimeout: 120,
    maxBackpressure: 1024 * 1024,
    upgrade: (res, req, context) => {
      res.upgrade<Subscriber>(
        { channel: undefined },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    message: (ws, data) => {
      const subscriber = ws.getUserData();
      if (subscriber.channel !== undefined) return;
      subscriber.channel = Buffer.from(data).toString();
      const channel = channelFor(subscriber.channel);
      for (const json of channel.history) ws.send(json);
      if (channel.finished) ws.end(1000);
      else channel.subscribers.push(ws);
    },
    close: (ws) => {
      const id = ws.getUserData().channel;
      const channel = id === undefined ? undefined : channels.get(id);
      if (channel === undefined) return;
      const index = channel.subscribers.indexOf(ws);
      if (index >= 0) channel.subscribers.splice(index, 1);
    },
  });
  const listening = await new Promise<number>((resolve, reject) => {
    app.listen(host, wsPort, (socket) => {
      if (socket) resolve(uws.us_socket_local_port(socket));
      else reject(new Error(`cannot listen on ${host}:${wsPort}`));
    });
  });

  const router = new Router({ routingId: 'recodex-monitor', linger: 0 });
  await router.bind(`tcp://${host}:${zmqPort === 0 ? '*' : zmqPort}`);
  const bound = /:(\d+)$/.exec(router.lastEndpoint ?? '');
  process.stdout.write(`${JSON.stringify({ websocket: listening, zeromq: Number(bound?.[1]) })}\n`);
  process.once('SIGTERM', () => process.exit(0));

  for await (const frames of router) {
    const id = frames[1].toString();
    const command = frames[2].toString();
    let json = '{"command": ' + pythonJsonString(command);
    if (frames.length > 3) json += ', "task_id": ' + pythonJsonString(frames[3].toString());
    if (frames.length > 4) json += ', "task_state": ' + pythonJsonString(frames[4].toString());
    json += '}';
    const channel = channelFor(id);
    if (channel.finished) continue;
    channel.history.push(json);
    for (const ws of channel.subscribers) ws.send(json);
    if (command === 'FINISHED') {
      channel.finished = true;
      // end() calls `close` at once, which edits the list: detach it first.
      const subscribers = channel.subscribers;
      channel.subscribers = [];
      for (const ws of subscribers) ws.end(1000);
      setTimeout(() => channels.delete(id), RETENTION_MS).unref();
    }
  }
}

main(
  process.argv[2] ?? '127.0.0.1',
  Number(process.argv[3] ?? 0),
  Number(process.argv[4] ?? 0),
).catch((error: unknown) => {
  process.stderr.write(`naive-monitor: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
