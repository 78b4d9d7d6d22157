/**
 * Pure functions from ZeroMQ frames to the JSON text that browsers receive.
 *
 * The bytes must equal what the Python monitor produced with
 * `json.dumps(dict(zip(keys, frames)), sort_keys=True)`, so that every existing client and
 * every recorded transcript stays valid.
 */

/** A parsed broker message, ready to be stored in its channel. */
export interface ProgressMessage {
  readonly kind: 'progress';
  readonly channel: string;
  readonly command: string;
  /** The JSON text sent to browsers. */
  readonly json: string;
  /** `FINISHED` ends the channel. */
  readonly terminal: boolean;
}

/** Channel `0` with the single frame `exit`: the original's remote shutdown. */
export interface ExitRequest {
  readonly kind: 'exit';
}

/** Why a message could not be parsed: a small fixed set, fit for a metrics label. */
export type ParseDropCode =
  'no_channel' | 'empty_channel' | 'no_command' | 'empty_command' | 'invalid_utf8' | 'oversized';

/** A message that cannot be relayed, with the reason to log. */
export interface Dropped {
  readonly kind: 'dropped';
  readonly channel: string | undefined;
  readonly code: ParseDropCode;
  readonly reason: string;
}

export type Parsed = ProgressMessage | ExitRequest | Dropped;

export interface ParseOptions {
  /** Our own routing id: a frame equal to it right after the sender's id is broker glue. */
  readonly routingId: string;
  /** Frames longer than this drop the message. */
  readonly maxFrameBytes: number;
}

/** The JSON keys, in the order of the frames after the channel id. Already sorted. */
const KEYS = ['command', 'task_id', 'task_state'] as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decode(frame: Uint8Array): string | undefined {
  try {
    return utf8.decode(frame);
  } catch {
    return undefined;
  }
}

/**
 * Turns one multipart message `[sender, channel, command, task_id?, task_state?]` into a
 * `Parsed` value. Never throws.
 */
export function parseFrames(frames: readonly Uint8Array[], options: ParseOptions): Parsed {
  // Frame 0 is the routing id our ROUTER gave the broker's connection: not ours to read.
  let rest = frames.slice(1);
  // A bare `progress` from a worker makes the broker send our id with nothing after it, so
  // the next message is glued on: `[sender, "recodex-monitor", channel, command, ...]`.
  if (rest.length > 2 && decode(rest[0]) === options.routingId) {
    rest = rest.slice(1);
  }
  if (rest.length === 0) {
    return dropped(undefined, 'no_channel', 'no channel frame');
  }
  const oversized = rest.findIndex((frame) => frame.length > options.maxFrameBytes);
  const channel = oversized === 0 ? undefined : decode(rest[0]);
  if (oversized >= 0) {
    return dropped(
      channel,
      'oversized',
      `frame ${oversized + 1} has ${rest[oversized].length} bytes, over the limit of ${options.maxFrameBytes}`,
    );
  }
  if (channel === undefined) {
    return dropped(undefined, 'invalid_utf8', 'channel id is not valid UTF-8');
  }
  if (channel === '') {
    return dropped(undefined, 'empty_channel', 'empty channel id');
  }
  if (rest.length === 1) {
    return dropped(channel, 'no_command', 'no command frame');
  }
  const values: string[] = [];
  for (let i = 1; i < rest.length && i <= KEYS.length; i++) {
    const value = decode(rest[i]);
    if (value === undefined) {
      return dropped(channel, 'invalid_utf8', `${KEYS[i - 1]} frame is not valid UTF-8`);
    }
    values.push(value);
  }
  const command = values[0];
  if (command === '') {
    return dropped(channel, 'empty_command', 'empty command frame');
  }
  if (channel === '0' && command === 'exit' && rest.length === 2) {
    return { kind: 'exit' };
  }
  return {
    kind: 'progress',
    channel,
    command,
    json: formatMessage(values),
    terminal: command === 'FINISHED',
  };
}

function dropped(channel: string | undefined, code: ParseDropCode, reason: string): Dropped {
  return { kind: 'dropped', channel, code, reason };
}

/**
 * `{"command": "...", "task_id": "...", "task_state": "..."}` for the given values, in
 * Python's `json.dumps` layout. Values beyond the three keys are ignored.
 */
export function formatMessage(values: readonly string[]): string {
  let json = '{';
  const count = Math.min(values.length, KEYS.length);
  for (let i = 0; i < count; i++) {
    json += `${i === 0 ? '' : ', '}"${KEYS[i]}": ${pythonJsonString(values[i])}`;
  }
  return json + '}';
}

/** Printable ASCII except `"` and `\`: the characters Python writes as they are. */
const PLAIN = /^[ !#-[\]-~]*$/;

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/** A JSON string literal as Python's `json.dumps` writes it with `ensure_ascii=True`. */
export function pythonJsonString(value: string): string {
  if (PLAIN.test(value)) {
    return `"${value}"`;
  }
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const code = value.charCodeAt(i);
    if (code >= 0x20 && code <= 0x7e && ch !== '"' && ch !== '\\') {
      out += ch;
    } else {
      // charCodeAt yields UTF-16 code units, so astral characters become surrogate pairs.
      out += SHORT_ESCAPES[ch] ?? `\\u${code.toString(16).padStart(4, '0')}`;
    }
  }
  return out + '"';
}
