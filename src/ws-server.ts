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
 */
import type { Observable, Subscription } from 'rxjs';
import type { TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
import type { Endpoint } from './config';
import type { Logger } from './logger';
import { checkTlsFiles, type TlsFiles } from './tls-files';
import { loadUws, type Uws } from './uws';

/** What the server needs of the channel registry. */
export interface ChannelSource {
  stream(id: string): Observable<string>;
}

export interface WsServerOptions {
  readonly endpoint: Endpoint;
  /** Serve `wss://` with these files. */
  readonly tls?: TlsFiles | undefined;
  readonly channels: ChannelSource;
  readonly logger: Logger;
  /** Largest message a client may send; a channel id is short. */
  readonly maxPayloadLength?: number;
  /** Seconds of silence before a peer is pinged and then dropped. */
  readonly idleTimeout?: number;
  /** Bytes queued for a slow client before it is closed. */
  readonly maxBackpressure?: number;
}

/** WebSocket close codes (RFC 6455). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  tryAgainLater: 1013,
} as const;

/** One connection's state; uWS keeps it as the socket's user data. */
interface Client {
  /** False once uWS reported the close: the socket must not be touched after that. */
  open: boolean;
  channel: string | undefined;
  subscription: Subscription | undefined;
  /** Messages waiting for the next flush. */
  queue: string[];
  /** The channel finished: close once the queue is written. */
  finished: boolean;
  peer: string;
}

export class WsServer {
  private readonly uws: Uws;
  private readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | undefined;
  private readonly sockets = new Set<WebSocket<Client>>();
  private readonly dirty = new Set<WebSocket<Client>>();
  private flushScheduled = false;
  private readonly channels: ChannelSource;
  private readonly logger: Logger;

  constructor(private readonly options: WsServerOptions) {
    this.uws = loadUws();
    this.channels = options.channels;
    this.logger = options.logger;
    this.app = options.tls === undefined ? this.uws.App() : this.sslApp(options.tls);
    this.app.ws<Client>('/*', {
      compression: this.uws.DISABLED,
      maxPayloadLength: options.maxPayloadLength ?? 256,
      idleTimeout: options.idleTimeout ?? 120,
      sendPingsAutomatically: true,
      maxBackpressure: options.maxBackpressure ?? 1024 * 1024,
      upgrade: (res, req, context) => {
        const peer = Buffer.from(res.getRemoteAddressAsText()).toString();
        const client: Client = {
          open: true,
          channel: undefined,
          subscription: undefined,
          queue: [],
          finished: false,
          peer,
        };
        res.upgrade(
          client,
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        this.sockets.add(ws);
      },
      message: (ws, data, isBinary) => this.onMessage(ws, data, isBinary),
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

  /** Starts listening; port 0 picks a free port. Returns the bound endpoint. */
  listen(): Promise<Endpoint> {
    const { host, port } = this.options.endpoint;
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen for WebSockets on ${host}:${port}`));
          return;
        }
        this.listenSocket = socket;
        resolve({ host, port: this.uws.us_socket_local_port(socket) });
      });
    });
  }

  /** Stops accepting connections and closes every client with 1001. */
  close(): void {
    if (this.listenSocket !== undefined) {
      this.uws.us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    for (const ws of [...this.sockets]) {
      this.end(ws, CloseCode.goingAway, 'server shutting down');
    }
  }

  private onMessage(ws: WebSocket<Client>, data: ArrayBuffer, isBinary: boolean): void {
    const client = ws.getUserData();
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
    this.logger.debug(`client ${client.peer} subscribed to channel ${channel}`);
    client.subscription = this.channels.stream(channel).subscribe({
      next: (json) => this.enqueue(ws, json),
      complete: () => {
        client.finished = true;
        this.markDirty(ws);
      },
    });
  }

  private reject(ws: WebSocket<Client>, code: number, reason: string): void {
    this.logger.info(`client ${ws.getUserData().peer} closed with ${code}: ${reason}`);
    this.end(ws, code, reason);
  }

  private onClose(ws: WebSocket<Client>): void {
    const client = ws.getUserData();
    client.open = false;
    client.subscription?.unsubscribe();
    client.subscription = undefined;
    client.queue = [];
    this.sockets.delete(ws);
    this.dirty.delete(ws);
  }

  private enqueue(ws: WebSocket<Client>, json: string): void {
    ws.getUserData().queue.push(json);
    this.markDirty(ws);
  }

  private markDirty(ws: WebSocket<Client>): void {
    this.dirty.add(ws);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Writes every queued message, one cork per socket. */
  private flush(): void {
    this.flushScheduled = false;
    const sockets = [...this.dirty];
    this.dirty.clear();
    for (const ws of sockets) {
      const client = ws.getUserData();
      if (!client.open) continue;
      const queue = client.queue;
      client.queue = [];
      try {
        const dropped = this.write(ws, queue);
        if (dropped) {
          this.reject(ws, CloseCode.tryAgainLater, 'client is not reading fast enough');
        } else if (client.finished) {
          this.end(ws, CloseCode.normal, 'channel finished');
        }
      } catch (error) {
        // One client's failure must not reach the others, nor escape into RxJS.
        this.logger.error(`sending to client ${client.peer} failed: ${(error as Error).message}`);
        this.end(ws, CloseCode.goingAway, 'internal error');
      }
    }
  }

  /** Sends the queue corked; true when uWS dropped a message for backpressure. */
  private write(ws: WebSocket<Client>, queue: readonly string[]): boolean {
    let dropped = false;
    ws.cork(() => {
      for (const json of queue) {
        if (ws.send(json, false, false) === 2) {
          dropped = true;
          return;
        }
      }
    });
    return dropped;
  }

  /** Closes a socket unless uWS already did. */
  private end(ws: WebSocket<Client>, code: number, reason: string): void {
    const client = ws.getUserData();
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
