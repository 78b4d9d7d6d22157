/**
 * A WebSocket client that behaves like the web app: it sends the channel id on open and
 * records every message and the close.
 */
import WebSocket from 'ws';

export interface Closed {
  readonly code: number;
  readonly reason: string;
}

export class RecordingClient {
  readonly messages: string[] = [];
  readonly closed: Promise<Closed>;
  readonly opened: Promise<void>;
  readonly socket: WebSocket;
  private waiters: (() => void)[] = [];

  /** Connects and, unless `channel` is undefined, sends it as the first message. */
  constructor(url: string, channel: string | undefined, options: WebSocket.ClientOptions = {}) {
    this.socket = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => {
        if (channel !== undefined) this.socket.send(channel);
        resolve();
      });
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    // Errors surface through `opened` or `closed`; an unhandled 'error' event would throw.
    this.socket.on('error', () => undefined);
    this.socket.on('message', (data) => {
      this.messages.push(data.toString());
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** Resolves once `count` messages arrived; rejects after `timeoutMs`. */
  async waitForMessages(count: number, timeoutMs = 5000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`expected ${count} messages, got ${this.messages.length}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages.slice(0, count);
  }

  /** The command of each message received so far. */
  commands(): string[] {
    return this.messages.map((m) => (JSON.parse(m) as { command: string }).command);
  }

  close(): void {
    this.socket.close();
  }
}

/** Resolves with the close, or rejects if it does not come within `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs = 5000, what = 'event'): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
