/**
 * The browser's side of the load: a WebSocket client that subscribes to one channel, as the
 * web app does, and checks every delivery.
 */
import WebSocket from 'ws';
import { type Problems, StreamCheck } from './verify';

export interface SubscriberOptions {
  /** Source address, to spread many connections over 127.0.0.0/8. */
  readonly localAddress?: string;
  /** Called with the send time of each message that carries one. */
  readonly onLatency?: (sentAtMicros: number) => void;
}

export class Subscriber {
  readonly check: StreamCheck;
  /** Resolves once connected and subscribed; false when the connection failed. */
  readonly opened: Promise<boolean>;
  /** Resolves when the connection is closed, whoever closed it. */
  readonly closed: Promise<void>;
  /** When the channel id was sent and when `FINISHED` arrived (performance.now ms). */
  subscribedAt = 0;
  finishedAt = 0;
  /** Connected and not yet closed. */
  isOpen = false;
  private readonly socket: WebSocket;

  constructor(
    url: string,
    channel: string,
    count: number,
    problems: Problems,
    options: SubscriberOptions = {},
  ) {
    this.check = new StreamCheck(`subscriber of ${channel}`, count, problems, options.onLatency);
    this.socket = new WebSocket(url, {
      perMessageDeflate: false,
      // The check compares exact texts: bytes that are not UTF-8 cannot match anyway.
      skipUTF8Validation: true,
      handshakeTimeout: 30_000,
      localAddress: options.localAddress,
    });
    this.opened = new Promise((resolve) => {
      this.socket.once('open', () => {
        this.isOpen = true;
        this.subscribedAt = performance.now();
        this.socket.send(channel);
        resolve(true);
      });
      this.socket.once('error', (error) => {
        this.check.fail(`connection failed: ${error.message}`);
        resolve(false);
      });
    });
    this.closed = new Promise((resolve) => {
      this.socket.once('close', (code) => {
        this.isOpen = false;
        this.check.close(code);
        resolve();
      });
    });
    this.socket.on('message', (data: Buffer, isBinary) => {
      this.check.message(isBinary ? `(binary) ${data.toString('hex')}` : data.toString());
      if (this.finishedAt === 0 && this.check.finished) this.finishedAt = performance.now();
    });
  }

  /** Ends the connection at once (after a timeout, or to clean up). */
  terminate(reason: string): void {
    this.check.fail(reason);
    this.socket.terminate();
  }
}

/** Starts `create(i)` for i < count with at most `concurrency` connections opening at once. */
export async function connectAll(
  count: number,
  concurrency: number,
  create: (index: number) => Subscriber,
): Promise<Subscriber[]> {
  const subscribers: Subscriber[] = [];
  let nextIndex = 0;
  const lane = async (): Promise<void> => {
    while (nextIndex < count) {
      const subscriber = create(nextIndex++);
      subscribers.push(subscriber);
      await subscriber.opened;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return subscribers;
}
