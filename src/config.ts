/**
 * The configuration: the YAML file of the Python monitor, read and validated into one typed,
 * frozen `Config`. Every default lives here.
 */
import { readFileSync } from 'node:fs';
import { loadAll } from 'js-yaml';
import { checkTlsFiles, type TlsFiles, TlsFileError } from './tls-files';

export const LOG_LEVELS = ['critical', 'error', 'warning', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Endpoint {
  readonly host: string;
  /** 0 asks the system for a free port. */
  readonly port: number;
}

export interface LoggerConfig {
  /** No file: log to stderr only. */
  readonly file: string | undefined;
  readonly level: LogLevel;
  readonly maxSize: number;
  readonly rotations: number;
}

export interface Config {
  readonly websocket: Endpoint;
  /** Serve `wss://` with these files; plain `ws://` when undefined. */
  readonly tls: TlsFiles | undefined;
  readonly zeromq: Endpoint;
  /** `/health` and `/metrics`: for the admin, never on the public WebSocket port. */
  readonly metrics: Endpoint;
  readonly logger: LoggerConfig;
  /** How long a channel's history is kept after `FINISHED`, in milliseconds. */
  readonly channelRetentionMs: number;
  /** Whether `[0, exit]` from the broker side may stop the monitor. */
  readonly allowRemoteExit: boolean;
  /** A ZeroMQ frame longer than this drops its message. */
  readonly maxFrameBytes: number;
  /** A channel whose last message is `FAILED` finishes after this much silence, in ms. */
  readonly failedGraceMs: number;
  /** A channel that gets no message for this long finishes, in ms. */
  readonly channelIdleTimeoutMs: number;
  /** Messages kept per channel; later ones go to live subscribers only. */
  readonly maxChannelMessages: number;
  /** Channels held at once, finished ones included. */
  readonly maxChannels: number;
  /** Seconds a WebSocket peer may stay silent before uWS drops it; it pings halfway. */
  readonly websocketIdleTimeoutSeconds: number;
  /** Bytes of live messages a client may fall behind by before it is closed with 1013. */
  readonly maxBackpressure: number;
  /** Open WebSocket connections; past it, upgrades get HTTP 503. */
  readonly maxConnections: number;
  /** `Origin` values allowed to upgrade, lowercase; empty allows any. */
  readonly allowedOrigins: readonly string[];
}

export const DEFAULT_CONFIG: Config = deepFreeze({
  websocket: { host: '127.0.0.1', port: 4567 },
  tls: undefined,
  zeromq: { host: '127.0.0.1', port: 7894 },
  metrics: { host: '127.0.0.1', port: 4568 },
  logger: { file: undefined, level: 'info', maxSize: 1024 * 1024, rotations: 3 },
  channelRetentionMs: 300_000,
  allowRemoteExit: false,
  maxFrameBytes: 64 * 1024,
  failedGraceMs: 30_000,
  channelIdleTimeoutMs: 3_600_000,
  maxChannelMessages: 10_000,
  maxChannels: 100_000,
  websocketIdleTimeoutSeconds: 120,
  maxBackpressure: 1024 * 1024,
  maxConnections: 100_000,
  allowedOrigins: [],
});

/** A config that cannot be used; the message names the file and the key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface LoadedConfig {
  readonly config: Config;
  /** Problems that do not stop start-up, such as unknown keys. */
  readonly warnings: readonly string[];
}

/** Reads and validates a config file and the TLS files it names. Throws `ConfigError`. */
export function loadConfigFile(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`config ${path}: cannot read: ${(error as Error).message}`);
  }
  let documents: unknown[];
  try {
    // loadAll, because load rejects a file holding nothing but comments.
    documents = loadAll(text, { filename: path });
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw new ConfigError(`config ${path}: not valid YAML: ${reason}`);
  }
  if (documents.length > 1) {
    throw new ConfigError(`config ${path}: holds ${documents.length} YAML documents, expected one`);
  }
  const loaded = parseConfig(documents[0], path);
  const tls = loaded.config.tls;
  if (tls !== undefined) {
    try {
      checkTlsFiles(tls);
    } catch (error) {
      if (!(error instanceof TlsFileError)) throw error;
      throw new ConfigError(`config ${path}: ${error.key}: ${error.message}`);
    }
  }
  return loaded;
}

/** Validates an already parsed YAML document. Throws `ConfigError`. */
export function parseConfig(document: unknown, source: string): LoadedConfig {
  // An empty file is a valid config that keeps every default.
  const root = document ?? {};
  const read = new Reader(source);
  const top = read.mapping(root, '');
  const logger = read.mapping(top.logger ?? {}, 'logger');
  const tls = top.tls === undefined || top.tls === null ? undefined : read.mapping(top.tls, 'tls');
  const config: Config = {
    websocket: read.endpoint(top.websocket_uri, 'websocket_uri', DEFAULT_CONFIG.websocket),
    tls:
      tls === undefined
        ? undefined
        : {
            cert: read.path(tls.cert, 'tls.cert'),
            key: read.path(tls.key, 'tls.key'),
            passphrase: read.passphrase(tls.passphrase, 'tls.passphrase'),
          },
    zeromq: read.endpoint(top.zeromq_uri, 'zeromq_uri', DEFAULT_CONFIG.zeromq),
    metrics: read.endpoint(top.metrics_uri, 'metrics_uri', DEFAULT_CONFIG.metrics),
    logger: {
      file: read.optionalString(logger.file, 'logger.file'),
      level: read.level(logger.level, 'logger.level'),
      maxSize: read.integer(
        logger['max-size'],
        'logger.max-size',
        1,
        DEFAULT_CONFIG.logger.maxSize,
      ),
      rotations: read.integer(
        logger.rotations,
        'logger.rotations',
        0,
        DEFAULT_CONFIG.logger.rotations,
      ),
    },
    channelRetentionMs: read.seconds(
      top.channel_retention,
      'channel_retention',
      DEFAULT_CONFIG.channelRetentionMs,
    ),
    allowRemoteExit: read.boolean(top.allow_remote_exit, 'allow_remote_exit', false),
    maxFrameBytes: read.integer(
      top.max_frame_bytes,
      'max_frame_bytes',
      1,
      DEFAULT_CONFIG.maxFrameBytes,
    ),
    failedGraceMs: read.seconds(top.failed_grace, 'failed_grace', DEFAULT_CONFIG.failedGraceMs),
    channelIdleTimeoutMs: read.seconds(
      top.channel_idle_timeout,
      'channel_idle_timeout',
      DEFAULT_CONFIG.channelIdleTimeoutMs,
    ),
    maxChannelMessages: read.integer(
      top.max_channel_messages,
      'max_channel_messages',
      1,
      DEFAULT_CONFIG.maxChannelMessages,
    ),
    maxChannels: read.integer(top.max_channels, 'max_channels', 1, DEFAULT_CONFIG.maxChannels),
    // uWS accepts 8 to 960 seconds and aborts the process on anything else.
    websocketIdleTimeoutSeconds: read.integer(
      top.websocket_idle_timeout,
      'websocket_idle_timeout',
      8,
      DEFAULT_CONFIG.websocketIdleTimeoutSeconds,
      960,
    ),
    maxBackpressure: read.integer(
      top.max_backpressure,
      'max_backpressure',
      1024,
      DEFAULT_CONFIG.maxBackpressure,
    ),
    maxConnections: read.integer(
      top.max_connections,
      'max_connections',
      1,
      DEFAULT_CONFIG.maxConnections,
    ),
    allowedOrigins: read.origins(top.allowed_origins, 'allowed_origins'),
  };
  const { websocket, metrics } = config;
  if (metrics.port !== 0 && metrics.port === websocket.port && metrics.host === websocket.host) {
    // Sharing the port would publish channel counts to the world, and cannot bind anyway.
    read.fail('metrics_uri', 'must differ from websocket_uri', top.metrics_uri);
  }
  read.unknownKeys(top, '', KNOWN_TOP_KEYS);
  read.unknownKeys(logger, 'logger.', KNOWN_LOGGER_KEYS);
  if (tls !== undefined) read.unknownKeys(tls, 'tls.', KNOWN_TLS_KEYS);
  return { config: deepFreeze(config), warnings: read.warnings };
}

const KNOWN_TOP_KEYS = [
  'websocket_uri',
  'tls',
  'zeromq_uri',
  'metrics_uri',
  'logger',
  'channel_retention',
  'allow_remote_exit',
  'max_frame_bytes',
  'failed_grace',
  'channel_idle_timeout',
  'max_channel_messages',
  'max_channels',
  'websocket_idle_timeout',
  'max_backpressure',
  'max_connections',
  'allowed_origins',
];
const KNOWN_LOGGER_KEYS = ['file', 'level', 'max-size', 'rotations'];
const KNOWN_TLS_KEYS = ['cert', 'key', 'passphrase'];

type Mapping = Record<string, unknown>;

/** What a browser sends as `Origin`: scheme, host, optional port, nothing more. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s@]+$/i;

/** Typed reads of YAML values; each failure names the file and the key. */
class Reader {
  readonly warnings: string[] = [];

  constructor(private readonly source: string) {}

  fail(key: string, problem: string, value: unknown): never {
    const where = key === '' ? 'top level' : key;
    throw new ConfigError(`config ${this.source}: ${where}: ${problem}, got ${show(value)}`);
  }

  mapping(value: unknown, key: string): Mapping {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(key, 'must be a mapping of keys to values', value);
    }
    return value as Mapping;
  }

  endpoint(value: unknown, key: string, fallback: Endpoint): Endpoint {
    if (value === undefined) return fallback;
    if (!Array.isArray(value) || value.length !== 2) {
      this.fail(key, 'must be a list of a host and a port, like ["127.0.0.1", 4567]', value);
    }
    const host = value[0];
    if (typeof host !== 'string' || host.trim() === '') {
      this.fail(`${key}[0]`, 'must be a host name or IP address', host);
    }
    return { host, port: this.integer(value[1], `${key}[1]`, 0, undefined, 65535) };
  }

  integer(value: unknown, key: string, min: number, fallback?: number, max?: number): number {
    if (value === undefined && fallback !== undefined) return fallback;
    const limit = max === undefined ? `at least ${min}` : `from ${min} to ${max}`;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.fail(key, `must be a whole number ${limit}`, value);
    }
    if (value < min || (max !== undefined && value > max)) {
      this.fail(key, `must be ${limit}`, value);
    }
    return value;
  }

  /** A positive number of seconds, returned in milliseconds. */
  seconds(value: unknown, key: string, fallbackMs: number): number {
    if (value === undefined) return fallbackMs;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      this.fail(key, 'must be a positive number of seconds', value);
    }
    return Math.round(value * 1000);
  }

  boolean(value: unknown, key: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(key, 'must be true or false', value);
    return value;
  }

  optionalString(value: unknown, key: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value === '') this.fail(key, 'must be a file path', value);
    return value;
  }

  path(value: unknown, key: string): string {
    if (typeof value !== 'string' || value === '') this.fail(key, 'must be a file path', value);
    return value;
  }

  passphrase(value: unknown, key: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    // Unlike other values, a wrong one is not repeated back: it is a secret.
    if (typeof value !== 'string') {
      throw new ConfigError(`config ${this.source}: ${key}: must be a string (quote it in YAML)`);
    }
    return value;
  }

  /** A list of `scheme://host[:port]` origins; nothing or an empty list allows any. */
  origins(value: unknown, key: string): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(key, 'must be a list of origins', value);
    return value.map((origin: unknown, index) => {
      if (typeof origin !== 'string' || !ORIGIN.test(origin)) {
        this.fail(
          `${key}[${index}]`,
          'must be an origin like "https://recodex.example.org" (scheme, host, optional port, no path)',
          origin,
        );
      }
      // Browsers send the scheme and host in lowercase.
      return origin.toLowerCase();
    });
  }

  level(value: unknown, key: string): LogLevel {
    if (value === undefined) return DEFAULT_CONFIG.logger.level;
    const level = typeof value === 'string' ? value.toLowerCase() : value;
    if (!LOG_LEVELS.includes(level as LogLevel)) {
      this.fail(key, `must be one of ${LOG_LEVELS.join(', ')}`, value);
    }
    return level as LogLevel;
  }

  unknownKeys(mapping: Mapping, prefix: string, known: readonly string[]): void {
    for (const key of Object.keys(mapping)) {
      if (!known.includes(key)) {
        this.warnings.push(`config ${this.source}: unknown key ${prefix}${key} is ignored`);
      }
    }
  }
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
