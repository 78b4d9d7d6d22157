/**
 * The WebSocket side, on uWebSockets.js: a browser opens a socket on any path, sends one text
 * message with a channel id, and receives that channel's history and live messages until
 * `FINISHED`, after which the server closes the socket with 1000.
 *
 * Sends are batched: messages for a socket are queued, and once per event-loop turn every
 * touched socket is corked once and written in one go. That keeps replay bursts and busy
 * channels to one syscall per socket per turn.
 *
 * With TLS files the same server is served as `wss://` by uWS' SSLApp.
 *
 * The server faces the internet, so every resource a client can claim is bounded: the size of
 * its messages, its silence (pings find dead peers), the bytes it may fall behind by, and the
 * number of connections; an `Origin` list can restrict who may connect at all.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { HttpResponse, TemplatedApp, WebSocket } from 'uWebSockets.js';
import type { ChannelListener } from './channels';
import { DEFAULT_CONFIG, type Endpoint } from './config';
import { LogThrottle } from './log-throttle';
import type { Logger } from './logger';
import { checkTlsFiles, type TlsFiles } from './tls-files';
import { ListenSocket, loadUws, type Uws } from './uws';

/** What the server needs of the channel registry. */
export interface ChannelSource {
  watch(id: string, listener: ChannelListener): void;
  unwatch(id: string, listener: ChannelListener): void;
}

export interface WsServerOptions {
  readonly endpoint: Endpoint;
  /** Serve `wss://` with these files. */
  readonly tls?: TlsFiles | undefined;
  readonly channels: ChannelSource;
  readonly logger: Logger;
  /** Seconds a peer may stay silent (a pong counts) before it is dropped; pinged halfway. */
  readonly idleTimeoutSeconds?: number;
  /** Bytes a client may fall behind by before it is closed with 1013. */
  readonly maxBackpressure?: number;
  /** Open connections; past it, upgrades get HTTP 503. */
  readonly maxConnections?: number;
  /** Lowercase origins allowed to connect; empty allows any. */
  readonly allowedOrigins?: readonly string[];
  /** Time for the log throttle; tests pass a virtual one. */
  readonly scheduler?: SchedulerLike;
}

/** Channel ids are short: a longer client message closes the socket with 1009. */
export const MAX_CLIENT_MESSAGE_BYTES = 256;

/**
 * uWS drops a connection whose message exceeds this without a close frame (the peer sees
 * 1006), before buffering it; messages up to it get a proper 1009 from us.
 */
const HARD_MESSAGE_LIMIT = 16 * 1024;

/** uWS `send` result: the message was not sent because of backpressure. */
const DROPPED = 2;

/** WebSocket close codes (RFC 6455). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
  tryAgainLater: 1013,
} as const;

/** Running totals, read by the metrics on each scrape. */
export interface WsStats {
  readonly connectionsTotal: number;
  /** Messages handed to uWS for a client (not dropped for backpressure). */
  readonly delivered: number;
  /** Payload bytes of those messages. */
  readonly bytesSent: number;
  /** Clients closed with 1013 because they did not read fast enough. */
  readonly backpressureCloses: number;
}

/** uWS copies user data onto its socket object; ours is one reference to the client. */
interface UserData {
  readonly client: Client;
}

/** Where a client says that it has something to write. */
interface Outbox {
  touch(client: Client): void;
}

/**
 * One connection's state, and its channel's listener: a class, so that a connection costs
 * one object of ours and no closures.
 */
class Client implements ChannelListener {
  /** False once uWS reported the close: the socket must not be touched after that. */
  open = true;
  /** Set when uWS opens the socket. */
  ws: WebSocket<UserData> | undefined = undefined;
  channel: string | undefined = undefined;
  /** Messages not yet handed to uWS, in order. */
  queue: string[] = [];
  /** How many messages at the head of `queue` are the history replay. */
  replayLeft = 0;
  /** Bytes of live messages in `queue`: how far the client has fallen behind. */
  backlog = 0;
  /** The channel finished: close once the queue is written. */
  done = false;
  /** Listed for the next flush. */
  dirty = false;

  constructor(
    readonly peer: string,
    private readonly outbox: Outbox,
  ) {}

  message(json: string): void {
    if (!this.open) return;
    this.queue.push(json);
    this.backlog += json.length;
    this.outbox.touch(this);
  }

  finished(): void {
    this.done = true;
    this.outbox.touch(this);
  }
}

export class WsServer {
  private readonly uws: Uws;
  private readonly app: TemplatedApp;
  private readonly listenSocket: ListenSocket;
  private readonly sockets = new Set<WebSocket<UserData>>();
  /** Clients to flush at the end of this event-loop turn, each once. */
  private dirty: Client[] = [];
  private flushScheduled = false;
  private readonly counts = {
    connectionsTotal: 0,
    delivered: 0,
    bytesSent: 0,
    backpressureCloses: 0,
  };
  private readonly outbox: Outbox = { touch: (client) => this.markDirty(client) };
  private readonly channels: ChannelSource;
  private readonly logger: Logger;
  private readonly maxBackpressure: number;
  private readonly maxConnections: number;
  private readonly allowedOrigins: ReadonlySet<string>;
  /** Lines caused by clients: a hostile crowd must not flood the log. */
  private readonly clientLog: LogThrottle;

  constructor(private readonly options: WsServerOptions) {
    this.uws = loadUws();
    this.channels = options.channels;
    this.logger = options.logger;
    this.maxBackpressure = options.maxBackpressure ?? DEFAULT_CONFIG.maxBackpressure;
    this.maxConnections = options.maxConnections ?? DEFAULT_CONFIG.maxConnections;
    this.allowedOrigins = new Set(options.allowedOrigins ?? DEFAULT_CONFIG.allowedOrigins);
    this.clientLog = new LogThrottle((line) => this.logger.info(line), {
      burst: 100,
      windowMs: 60_000,
      what: 'more client refusals and closes',
      scheduler: options.scheduler ?? asyncScheduler,
    });
    this.app = options.tls === undefined ? this.uws.App() : this.sslApp(options.tls);
    this.listenSocket = new ListenSocket(this.uws, this.app, 'WebSockets');
    this.app.ws<UserData>('/*', {
      compression: this.uws.DISABLED,
      maxPayloadLength: HARD_MESSAGE_LIMIT,
      idleTimeout: options.idleTimeoutSeconds ?? DEFAULT_CONFIG.websocketIdleTimeoutSeconds,
      sendPingsAutomatically: true,
      // Our own flush keeps each buffer under this; uWS' check is only the last guard.
      maxBackpressure: this.maxBackpressure,
      // Every path answers synchronously, before the peer can abort: uWS only needs
      // res.onAborted for answers given later.
      upgrade: (res, req, context) => {
        const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
        const origin = req.getHeader('origin');
        if (this.allowedOrigins.size > 0 && !this.allowedOrigins.has(origin.toLowerCase())) {
          this.refuse(
            res,
            peer,
            '403 Forbidden',
            `origin ${JSON.stringify(origin)} is not allowed`,
          );
          return;
        }
        if (this.sockets.size >= this.maxConnections) {
          this.refuse(
            res,
            peer,
            '503 Service Unavailable',
            `max_connections (${this.maxConnections}) reached`,
          );
          return;
        }
        res.upgrade<UserData>(
          { client: new Client(peer, this.outbox) },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        ws.getUserData().client.ws = ws;
        this.sockets.add(ws);
        this.counts.connectionsTotal += 1;
      },
      message: (ws, data, isBinary) => this.onMessage(ws, data, isBinary),
      drain: (ws) => {
        const client = ws.getUserData().client;
        if (client.queue.length > 0) this.markDirty(client);
      },
      close: (ws) => this.onClose(ws),
    });
  }

  /** Checks the files first: for any problem with them uWS only says "App construction failed". */
  private sslApp(tls: TlsFiles): TemplatedApp {
    checkTlsFiles(tls);
    return this.uws.SSLApp({
      cert_file_name: tls.cert,
      key_file_name: tls.key,
      ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    });
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.sockets.size;
  }

  get stats(): WsStats {
    return this.counts;
  }

  /** Starts listening; port 0 picks a free port. Returns the bound endpoint. */
  listen(): Promise<Endpoint> {
    return this.listenSocket.open(this.options.endpoint);
  }

  /** Stops accepting connections and closes every client with 1001. */
  close(): void {
    this.listenSocket.close();
    for (const ws of [...this.sockets]) {
      this.end(ws, CloseCode.goingAway, 'server shutting down');
    }
    this.clientLog.close();
  }

  private refuse(res: HttpResponse, peer: string, status: string, reason: string): void {
    this.clientLog.log(`refused a WebSocket from ${peer} with HTTP ${status}: ${reason}`);
    res.writeStatus(status).end(`${reason}\n`, true);
  }

  private onMessage(ws: WebSocket<UserData>, data: ArrayBuffer, isBinary: boolean): void {
    if (data.byteLength > MAX_CLIENT_MESSAGE_BYTES) {
      this.reject(
        ws,
        CloseCode.messageTooBig,
        `message over ${MAX_CLIENT_MESSAGE_BYTES} bytes; a channel id is short`,
      );
      return;
    }
    const client = ws.getUserData().client;
    // Only the first message counts; later ones (and a second channel id) are ignored.
    if (client.channel !== undefined) return;
    if (isBinary) {
      this.reject(ws, CloseCode.unsupportedData, 'expected the channel id as a text message');
      return;
    }
    if (data.byteLength === 0) {
      this.reject(ws, CloseCode.policyViolation, 'empty channel id');
      return;
    }
    const channel = Buffer.from(data).toString('utf8');
    client.channel = channel;
    if (this.logger.isLevelEnabled('debug')) {
      this.logger.debug(`client ${client.peer} subscribed to channel ${channel}`);
    }
    this.channels.watch(channel, client);
    // The history arrived synchronously; it is ours to pace, not the client's backlog.
    client.replayLeft = client.queue.length;
    client.backlog = 0;
  }

  private reject(ws: WebSocket<UserData>, code: number, reason: string): void {
    this.clientLog.log(`client ${ws.getUserData().client.peer} closed with ${code}: ${reason}`);
    this.end(ws, code, reason);
  }

  private onClose(ws: WebSocket<UserData>): void {
    const client = ws.getUserData().client;
    client.open = false;
    if (client.channel !== undefined) this.channels.unwatch(client.channel, client);
    client.queue = [];
    this.sockets.delete(ws);
  }

  private markDirty(client: Client): void {
    if (client.dirty) return;
    client.dirty = true;
    this.dirty.push(client);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes what each touched socket can take now, one cork per socket. */
  private flush(): void {
    this.flushScheduled = false;
    const clients = this.dirty;
    this.dirty = [];
    for (const client of clients) {
      client.dirty = false;
      const ws = client.ws;
      if (!client.open || ws === undefined) continue;
      try {
        const dropped = this.write(ws, client);
        if (dropped || client.backlog > this.maxBackpressure) {
          this.counts.backpressureCloses += 1;
          this.reject(ws, CloseCode.tryAgainLater, 'client is not reading fast enough');
        } else if (client.done && client.queue.length === 0) {
          this.end(ws, CloseCode.normal, 'channel finished');
        }
      } catch (error) {
        // One client's failure must not reach the others, nor escape into the publisher.
        this.logger.error(`sending to client ${client.peer} failed: ${(error as Error).message}`);
        this.end(ws, CloseCode.goingAway, 'internal error');
      }
    }
  }

  /**
   * Hands queued messages to uWS, corked, until its buffer for the socket holds
   * `maxBackpressure`; the rest waits for `drain`. True when uWS dropped a message anyway.
   */
  private write(ws: WebSocket<UserData>, client: Client): boolean {
    const queue = client.queue;
    if (queue.length === 1) {
      // A lone message is one write, corked or not: the cork would only cost a call.
      if (ws.getBufferedAmount() >= this.maxBackpressure) return false;
      if (ws.send(queue[0], false, false) === DROPPED) return true;
      this.account(client, queue[0]);
      client.queue = [];
      return false;
    }
    let sent = 0;
    let dropped = false;
    ws.cork(() => {
      while (sent < queue.length && ws.getBufferedAmount() < this.maxBackpressure) {
        const json = queue[sent];
        if (ws.send(json, false, false) === DROPPED) {
          dropped = true;
          return;
        }
        sent += 1;
        this.account(client, json);
      }
    });
    client.queue = sent === queue.length ? [] : queue.slice(sent);
    return dropped;
  }

  /** A message handed to uWS: counted, and taken off the replay first, then the backlog. */
  private account(client: Client, json: string): void {
    const counts = this.counts;
    counts.delivered += 1;
    // The JSON is pure ASCII (non-ASCII is escaped), so its length is its size in bytes.
    counts.bytesSent += json.length;
    if (client.replayLeft > 0) client.replayLeft -= 1;
    else client.backlog -= json.length;
  }

  /** Closes a socket unless uWS already did. */
  private end(ws: WebSocket<UserData>, code: number, reason: string): void {
    const client = ws.getUserData().client;
    if (!client.open) return;
    try {
      ws.end(code, reason);
    } catch (error) {
      this.logger.debug(`closing client ${client.peer}: ${(error as Error).message}`);
    }
    // end() reports the close synchronously; make sure the state is final either way.
    this.onClose(ws);
  }
}
