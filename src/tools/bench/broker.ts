/**
 * The broker's side of the load: a ROUTER socket that connects to the monitor and addresses
 * every message to `recodex-monitor`, as the real broker does.
 */
import { Router } from 'zeromq';

const MONITOR_ID = 'recodex-monitor';

export class BenchBroker {
  // `mandatory`: a send fails until the monitor answered the handshake, instead of being
  // silently dropped, so the first send can wait for the peer.
  // `sendTimeout`: a monitor that stops reading fails the run instead of hanging it.
  private readonly socket = new Router({ linger: 0, mandatory: true, sendTimeout: 30_000 });
  private connected = false;

  /** `endpoint` is a ZeroMQ address such as `tcp://127.0.0.1:7894`. */
  constructor(endpoint: string) {
    this.socket.connect(endpoint);
  }

  /** Sends `[channel, ...frames]`; before the first delivery, waits up to 10 s for the peer. */
  async send(channel: string, frames: readonly string[]): Promise<void> {
    if (this.connected) {
      await this.socket.send([MONITOR_ID, channel, ...frames]);
      return;
    }
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await this.socket.send([MONITOR_ID, channel, ...frames]);
        this.connected = true;
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'EHOSTUNREACH' || Date.now() > deadline) {
          throw new Error(`cannot reach the monitor over ZeroMQ: ${(error as Error).message}`, {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  close(): void {
    this.socket.close();
  }
}
