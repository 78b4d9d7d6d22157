/**
 * The admin's HTTP port (`metrics_uri`): a few fixed GET routes, 404 for everything else.
 *
 * It runs on a second uWebSockets.js app rather than node:http: one network stack in the
 * process, whose limits and failure modes we already handle. A route may answer later
 * (prom-client renders asynchronously), so each request registers `onAborted` and writes its
 * answer corked, and never touches a response whose client has gone.
 */
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Endpoint } from './config';
import type { Logger } from './logger';
import { ListenSocket, loadUws, type Uws } from './uws';

export interface Reply {
  /** Status line, such as `200 OK`. */
  readonly status: string;
  readonly contentType: string;
  readonly body: string;
}

/** Answers a GET; may take its time. */
export type Route = () => Reply | Promise<Reply>;

export interface HttpEndpointsOptions {
  readonly endpoint: Endpoint;
  /** Exact paths; query strings are ignored. */
  readonly routes: Readonly<Record<string, Route>>;
  readonly logger: Logger;
}

export function jsonReply(status: string, value: unknown): Reply {
  return { status, contentType: 'application/json', body: `${JSON.stringify(value)}\n` };
}

const NOT_FOUND: Reply = {
  status: '404 Not Found',
  contentType: 'text/plain; charset=utf-8',
  body: 'not found\n',
};

export class HttpEndpoints {
  private readonly uws: Uws;
  private readonly app: TemplatedApp;
  private readonly listenSocket: ListenSocket;

  constructor(private readonly options: HttpEndpointsOptions) {
    this.uws = loadUws();
    this.app = this.uws.App();
    this.listenSocket = new ListenSocket(this.uws, this.app, 'health and metrics');
    for (const [path, route] of Object.entries(options.routes)) {
      this.app.get(path, (res) => this.answer(res, route));
    }
    this.app.any('/*', (res) => this.answer(res, () => NOT_FOUND));
  }

  /** Starts listening; port 0 picks a free port. Returns the bound endpoint. */
  listen(): Promise<Endpoint> {
    return this.listenSocket.open(this.options.endpoint);
  }

  /** Stops accepting requests; answers in flight still go out, each closing its connection. */
  close(): void {
    this.listenSocket.close();
  }

  private answer(res: HttpResponse, route: Route): void {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const send = (reply: Reply): void => {
      if (aborted) return;
      res.cork(() => {
        // Closing after each answer leaves no idle keep-alive connection to outlive shutdown;
        // a scrape every few seconds does not need one.
        res
          .writeStatus(reply.status)
          .writeHeader('Content-Type', reply.contentType)
          .writeHeader('Cache-Control', 'no-store')
          .end(reply.body, true);
      });
    };
    let reply: Reply | Promise<Reply>;
    try {
      reply = route();
    } catch (error) {
      reply = Promise.reject(error);
    }
    if (!(reply instanceof Promise)) {
      send(reply);
      return;
    }
    reply.then(send).catch((error: unknown) => {
      this.options.logger.error(`answering an HTTP request failed: ${(error as Error).message}`);
      try {
        send({ status: '500 Internal Server Error', contentType: 'text/plain', body: 'error\n' });
      } catch {
        // The client may be gone; nothing is left to tell it.
      }
    });
  }
}
