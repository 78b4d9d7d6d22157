/**
 * The ZeroMQ side: a ROUTER socket that the broker's ROUTER connects to, addressing us by the
 * routing id `recodex-monitor`. Its receive loop is an Observable of raw multipart messages.
 */
import { Observable } from 'rxjs';
import { Router } from 'zeromq';
import type { Endpoint } from './config';

/** The broker addresses every message to the peer with this routing id. */
export const ROUTING_ID = 'recodex-monitor';

export class ZmqSource {
  private readonly socket = new Router({
    routingId: ROUTING_ID,
    // The default (-1) makes close() wait forever for undeliverable messages.
    linger: 0,
  });

  /**
   * Every multipart message, frame 0 being the sender's routing id. Subscribe once: the
   * socket has one reader. Completes when the socket is closed.
   */
  readonly frames$: Observable<Buffer[]> = new Observable<Buffer[]>((subscriber) => {
    let active = true;
    const receive = async (): Promise<void> => {
      while (active && !this.socket.closed) {
        let frames: Buffer[];
        try {
          frames = await this.socket.receive();
        } catch (error) {
          // Closing the socket ends the pending receive with an error: that is the normal end.
          if (this.socket.closed) break;
          subscriber.error(error);
          return;
        }
        subscriber.next(frames);
      }
      subscriber.complete();
    };
    void receive();
    return () => {
      active = false;
    };
  });

  /** Binds to the endpoint; port 0 picks a free port. Returns the bound endpoint. */
  async bind(endpoint: Endpoint): Promise<Endpoint> {
    const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
    if (endpoint.host.includes(':')) this.socket.ipv6 = true;
    await this.socket.bind(`tcp://${host}:${endpoint.port === 0 ? '*' : endpoint.port}`);
    const bound = /:(\d+)$/.exec(this.socket.lastEndpoint ?? '');
    return { host: endpoint.host, port: bound ? Number(bound[1]) : endpoint.port };
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}
