/**
 * The ZeroMQ side: a ROUTER socket that the broker's ROUTER connects to, addressing us by the
 * routing id `recodex-monitor`. Its receive loop is an Observable of raw multipart messages.
 *
 * The loop outlives a failed receive (logged); only a run of failures with no message in
 * between ends it with an error, so the monitor stops rather than run with a dead ZeroMQ side.
 */
import { Observable } from 'rxjs';
import { Router } from 'zeromq';
import type { Endpoint } from './config';
import type { Logger } from './logger';

/** The broker addresses every message to the peer with this routing id. */
export const ROUTING_ID = 'recodex-monitor';

/** Failed receives in a row after which the socket counts as dead. */
export const MAX_RECEIVE_FAILURES = 10;

export interface ZmqSourceOptions {
  readonly logger: Logger;
  /** Tests pass a socket that fails on purpose; by default a ROUTER named `ROUTING_ID`. */
  readonly socket?: Router;
}

/** Running totals, read by the metrics on each scrape. */
export interface ZmqStats {
  /** Multipart messages received, good or bad. */
  readonly received: number;
  /** Failed receives, each logged; a run of them stops the monitor. */
  readonly receiveErrors: number;
}

export class ZmqSource {
  private readonly socket: Router;
  private readonly logger: Logger;
  private readonly counts = { received: 0, receiveErrors: 0 };
  private wasBound = false;

  constructor(options: ZmqSourceOptions) {
    this.logger = options.logger;
    this.socket =
      options.socket ??
      new Router({
        routingId: ROUTING_ID,
        // The default (-1) makes close() wait forever for undeliverable messages.
        linger: 0,
      });
  }

  /**
   * Every multipart message, frame 0 being the sender's routing id. Subscribe once: the
   * socket has one reader. Completes when the socket is closed.
   */
  readonly frames$: Observable<Buffer[]> = new Observable<Buffer[]>((subscriber) => {
    let active = true;
    const receive = async (): Promise<void> => {
      let failures = 0;
      while (active && !this.socket.closed) {
        let frames: Buffer[];
        try {
          frames = await this.socket.receive();
        } catch (error) {
          // Closing the socket ends the pending receive with an error: that is the normal end.
          if (this.socket.closed) break;
          failures += 1;
          this.counts.receiveErrors += 1;
          if (failures >= MAX_RECEIVE_FAILURES) {
            subscriber.error(error);
            return;
          }
          this.logger.error(
            `ZeroMQ receive failed (${failures} in a row): ${(error as Error).message}; receiving on`,
          );
          continue;
        }
        failures = 0;
        this.counts.received += 1;
        subscriber.next(frames);
      }
      subscriber.complete();
    };
    void receive();
    return () => {
      active = false;
    };
  });

  get stats(): ZmqStats {
    return this.counts;
  }

  /** True while the socket is bound and open. */
  get bound(): boolean {
    return this.wasBound && !this.socket.closed;
  }

  /** Binds to the endpoint; port 0 picks a free port. Returns the bound endpoint. */
  async bind(endpoint: Endpoint): Promise<Endpoint> {
    const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
    if (endpoint.host.includes(':')) this.socket.ipv6 = true;
    await this.socket.bind(`tcp://${host}:${endpoint.port === 0 ? '*' : endpoint.port}`);
    this.wasBound = true;
    const bound = /:(\d+)$/.exec(this.socket.lastEndpoint ?? '');
    return { host: endpoint.host, port: bound ? Number(bound[1]) : endpoint.port };
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}
