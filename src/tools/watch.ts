/**
 * `recodex-monitor watch`: subscribes to a channel as the web app does and prints every
 * message with a timestamp until the channel finishes.
 *
 * It uses the `ws` package: Node.js 20 has a global WebSocket only behind
 * `--experimental-websocket`, and Node.js 18 has none.
 */
import WebSocket from 'ws';
import { formatTimestamp } from '../logger';

export interface WatchOptions {
  readonly url: string;
  readonly channel: string;
  /** Where messages go, one line each. */
  readonly out: NodeJS.WritableStream;
  /** Where the connection's story goes. */
  readonly err: NodeJS.WritableStream;
  /** Time source for the timestamps. */
  readonly now?: () => Date;
}

/** How a watch ended. */
export interface WatchResult {
  /** True when the channel finished and the monitor closed normally. */
  readonly finished: boolean;
  readonly messages: number;
}

/** The WebSocket close code the monitor sends after `FINISHED`. */
const NORMAL_CLOSURE = 1000;

/** A `ws://` or `wss://` URL. Throws with a readable message. */
export function parseWebSocketUrl(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'ws:' && url.protocol !== 'wss:')) {
    throw new Error(
      `expected a ws:// or wss:// URL, like ws://127.0.0.1:4567, got ${JSON.stringify(text)}`,
    );
  }
  return url.href;
}

export function watch(options: WatchOptions): Promise<WatchResult> {
  const { url, channel, out, err } = options;
  const now = options.now ?? ((): Date => new Date());
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    let messages = 0;
    let failure: string | undefined;
    socket.on('open', () => {
      err.write(`watching channel ${channel} on ${url}\n`);
      socket.send(channel);
    });
    socket.on('message', (data) => {
      messages += 1;
      out.write(`[${formatTimestamp(now())}] ${data.toString()}\n`);
    });
    socket.on('error', (error) => {
      failure = error.message;
    });
    socket.on('close', (code, reason) => {
      const finished = code === NORMAL_CLOSURE;
      if (finished) {
        err.write(`channel ${channel} finished after ${messages} messages\n`);
      } else if (failure !== undefined && messages === 0) {
        err.write(`cannot watch ${url}: ${failure}\n`);
      } else {
        err.write(`the connection closed with ${code} ${reason.toString()}`.trimEnd() + '\n');
      }
      resolve({ finished, messages });
    });
  });
}
