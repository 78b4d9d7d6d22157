/**
 * `recodex-monitor send`: one message to a running monitor, exactly as the broker sends it
 * (the successor of the original's `testing/submitter.py`). `BrokerLink` is also the demo's
 * broker.
 */
import { Router } from 'zeromq';
import type { Endpoint } from '../config';
import { ROUTING_ID } from '../zmq-source';

/** No monitor completed the ZeroMQ handshake in time. */
export class NoMonitorError extends Error {
  override readonly name = 'NoMonitorError';
}

/** How long a sender waits for the monitor before giving up, by default. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;

/**
 * A ROUTER that connects to the monitor's ROUTER and addresses `recodex-monitor`, as the
 * broker does. `mandatory` turns "no such peer yet" into an EHOSTUNREACH error instead of a
 * silent drop, which is how we know the monitor answered the handshake. `sendTimeout: 0`
 * makes that error come at once: by default zeromq.js waits for the peer, forever.
 */
export class BrokerLink {
  private readonly socket: Router;
  readonly address: string;

  /** `lingerMs`: how long closing may wait for queued messages to leave; never forever. */
  constructor(endpoint: Endpoint, lingerMs = 0) {
    this.socket = new Router({ linger: lingerMs, mandatory: true, sendTimeout: 0 });
    if (endpoint.host.includes(':')) this.socket.ipv6 = true;
    const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
    this.address = `tcp://${host}:${endpoint.port}`;
    this.socket.connect(this.address);
  }

  /**
   * Sends `[channel, command, ...]` to `recodex-monitor`, retrying until the monitor has
   * answered the handshake or `timeoutMs` passed (then `NoMonitorError`).
   */
  async send(frames: readonly string[], timeoutMs = DEFAULT_HANDSHAKE_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.socket.send([ROUTING_ID, ...frames]);
        return;
      } catch (error) {
        // EAGAIN: the monitor is there but not reading fast enough; wait for it too.
        const code = (error as { code?: string }).code;
        if (code !== 'EHOSTUNREACH' && code !== 'EAGAIN') throw error;
        if (Date.now() >= deadline) {
          throw new NoMonitorError(
            `no monitor answered at ${this.address} within ${timeoutMs} ms ` +
              '(is it running, and is that its zeromq_uri?)',
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}

/** `HOST:PORT`, `[IPv6]:PORT` or `tcp://HOST:PORT`. Throws with a readable message. */
export function parseHostPort(text: string): Endpoint {
  const match = /^(?:tcp:\/\/)?(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) {
    throw new Error(`expected HOST:PORT, like 127.0.0.1:7894, got ${JSON.stringify(text)}`);
  }
  return { host: match[1] ?? match[2], port };
}

/** Where to connect to reach a server bound to `host` (a wildcard means this machine). */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '*') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

export interface SendOptions {
  readonly zeromq: Endpoint;
  /** `[channel, command, task_id?, task_state?]`. */
  readonly frames: readonly string[];
  readonly timeoutMs?: number;
}

/** Sends one message; resolves once it is queued to a monitor that answered. */
export async function sendOne(options: SendOptions): Promise<void> {
  // Closing with linger 0 would throw away the message just queued; a short, bounded linger
  // lets it reach the wire without ever holding the process for long.
  const link = new BrokerLink(options.zeromq, 1000);
  try {
    await link.send(options.frames, options.timeoutMs);
  } finally {
    link.close();
  }
}
