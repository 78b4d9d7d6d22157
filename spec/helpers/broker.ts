/**
 * A broker stand-in: a ROUTER socket that connects to the monitor and addresses every
 * message to the peer `recodex-monitor`, exactly as the real broker does.
 */
import { Router } from 'zeromq';

export class FakeBroker {
  // `mandatory` makes a send fail until the monitor's ROUTER has answered the handshake,
  // instead of silently dropping the message as the real broker would.
  private readonly socket = new Router({ linger: 0, mandatory: true, sendTimeout: 0 });

  constructor(port: number, host = '127.0.0.1') {
    this.socket.connect(`tcp://${host}:${port}`);
  }

  /** Sends `[channel, ...frames]` to `recodex-monitor`, waiting up to 5 s for the peer. */
  async send(...frames: (string | Buffer)[]): Promise<void> {
    await this.sendRaw(['recodex-monitor', ...frames]);
  }

  /** Sends the frames as they are, the first being the destination routing id. */
  async sendRaw(frames: (string | Buffer)[]): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await this.socket.send(frames);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== 'EHOSTUNREACH' || Date.now() > deadline) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }

  close(): void {
    this.socket.close();
  }
}
