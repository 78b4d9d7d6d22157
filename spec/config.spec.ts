import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadAll } from 'js-yaml';
import { ConfigError, DEFAULT_CONFIG, loadConfigFile, parseConfig } from '../src/config';

const directory = mkdtempSync(join(tmpdir(), 'monitor-config-'));
let fileCount = 0;

function file(text: string): string {
  const path = join(directory, `config-${++fileCount}.yml`);
  writeFileSync(path, text);
  return path;
}

/** Asserts that loading `text` fails with a message naming the file and matching `pattern`. */
function rejects(text: string, pattern: RegExp): void {
  const path = file(text);
  assert.throws(
    () => loadConfigFile(path),
    (error: Error) => {
      assert.ok(error instanceof ConfigError, `not a ConfigError: ${error.message}`);
      assert.ok(error.message.startsWith(`config ${path}: `), error.message);
      assert.match(error.message, pattern);
      assert.ok(!error.message.includes('\n'), 'the message is one line');
      return true;
    },
  );
}

// The file every existing installation has, verbatim from protocol.md.
const DEPLOYED = `---
websocket_uri:
    - "127.0.0.1"
    - 4567
zeromq_uri:
    - "127.0.0.1"
    - 7894
logger:
    file: "/var/log/recodex/monitor.log"
    level: "debug"       # debug, info, warning, error, critical
    max-size: 1048576    # bytes before the log file rotates
    rotations: 3         # rotated files kept
...
`;

describe('loadConfigFile', () => {
  it('reads the config file deployed today, unchanged', () => {
    const { config, warnings } = loadConfigFile(file(DEPLOYED));
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.websocket, { host: '127.0.0.1', port: 4567 });
    assert.deepEqual(config.zeromq, { host: '127.0.0.1', port: 7894 });
    assert.deepEqual(config.logger, {
      file: '/var/log/recodex/monitor.log',
      level: 'debug',
      maxSize: 1048576,
      rotations: 3,
    });
    assert.equal(config.channelRetentionMs, 300_000);
    assert.equal(config.allowRemoteExit, false);
  });

  it('keeps every default for an empty file and for missing keys', () => {
    assert.deepEqual(loadConfigFile(file('')).config, DEFAULT_CONFIG);
    const { config } = loadConfigFile(file('logger:\n  level: warning\n'));
    assert.equal(config.logger.level, 'warning');
    assert.equal(config.logger.maxSize, 1024 * 1024);
    assert.equal(config.logger.rotations, 3);
    assert.deepEqual(config.websocket, DEFAULT_CONFIG.websocket);
  });

  it('has the documented built-in defaults', () => {
    assert.deepEqual(DEFAULT_CONFIG.websocket, { host: '127.0.0.1', port: 4567 });
    assert.deepEqual(DEFAULT_CONFIG.zeromq, { host: '127.0.0.1', port: 7894 });
    assert.equal(DEFAULT_CONFIG.logger.level, 'info');
    assert.equal(DEFAULT_CONFIG.logger.maxSize, 1048576);
    assert.equal(DEFAULT_CONFIG.logger.rotations, 3);
    assert.equal(DEFAULT_CONFIG.channelRetentionMs, 300_000);
    assert.equal(DEFAULT_CONFIG.allowRemoteExit, false);
    assert.equal(DEFAULT_CONFIG.failedGraceMs, 30_000);
    assert.equal(DEFAULT_CONFIG.channelIdleTimeoutMs, 3_600_000);
    assert.equal(DEFAULT_CONFIG.maxChannelMessages, 10_000);
    assert.equal(DEFAULT_CONFIG.maxChannels, 100_000);
    assert.equal(DEFAULT_CONFIG.websocketIdleTimeoutSeconds, 120);
    assert.equal(DEFAULT_CONFIG.maxBackpressure, 1024 * 1024);
    assert.equal(DEFAULT_CONFIG.maxConnections, 100_000);
    assert.deepEqual(DEFAULT_CONFIG.allowedOrigins, []);
  });

  it('reads the optional keys', () => {
    const { config } = loadConfigFile(
      file('channel_retention: 2.5\nallow_remote_exit: true\nmax_frame_bytes: 100\n'),
    );
    assert.equal(config.channelRetentionMs, 2500);
    assert.equal(config.allowRemoteExit, true);
    assert.equal(config.maxFrameBytes, 100);
  });

  it('accepts log levels in any case', () => {
    assert.equal(loadConfigFile(file('logger: {level: CRITICAL}')).config.logger.level, 'critical');
  });

  it('returns a frozen config', () => {
    const { config } = loadConfigFile(file(DEPLOYED));
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.websocket));
    assert.ok(Object.isFrozen(config.logger));
  });

  it('warns about unknown keys instead of failing', () => {
    const path = file(
      'websocket_uri: ["127.0.0.1", 4567]\nwebsocket_url: x\nlogger: {colour: red}\n',
    );
    assert.deepEqual(loadConfigFile(path).warnings, [
      `config ${path}: unknown key websocket_url is ignored`,
      `config ${path}: unknown key logger.colour is ignored`,
    ]);
  });

  it('rejects a missing file', () => {
    const path = join(directory, 'missing.yml');
    assert.throws(() => loadConfigFile(path), new RegExp(`config ${path}: cannot read: .*ENOENT`));
  });

  it('rejects a path that cannot be read as a file', () => {
    assert.throws(() => loadConfigFile(directory), /cannot read: .*EISDIR/);
  });

  it('rejects a file with more than one YAML document', () => {
    rejects('a: 1\n---\nb: 2\n', /holds 2 YAML documents, expected one/);
  });

  it('rejects text that is not YAML', () => {
    rejects('websocket_uri: [127.0.0.1, 4567\n', /not valid YAML: /);
    rejects('a: b: c\n', /not valid YAML/);
  });

  it('rejects a document that is not a mapping', () => {
    rejects('- a\n- b\n', /^config \S+: top level: must be a mapping/);
    rejects('just text\n', /top level: must be a mapping/);
  });

  it('rejects ports of the wrong type or range, naming the key', () => {
    rejects(
      'websocket_uri: ["127.0.0.1", 65536]\n',
      /websocket_uri\[1\]: must be from 0 to 65535, got 65536/,
    );
    rejects('zeromq_uri: ["127.0.0.1", -1]\n', /zeromq_uri\[1\]: must be from 0 to 65535, got -1/);
    rejects(
      'zeromq_uri: ["127.0.0.1", "7894"]\n',
      /zeromq_uri\[1\]: must be a whole number from 0 to 65535, got "7894"/,
    );
    rejects('websocket_uri: ["127.0.0.1", 45.5]\n', /websocket_uri\[1\]: must be a whole number/);
  });

  it('rejects malformed endpoints, naming the key', () => {
    rejects(
      'websocket_uri: "127.0.0.1:4567"\n',
      /websocket_uri: must be a list of a host and a port/,
    );
    rejects('zeromq_uri: ["127.0.0.1"]\n', /zeromq_uri: must be a list of a host and a port/);
    rejects(
      'zeromq_uri: [7894, 7894]\n',
      /zeromq_uri\[0\]: must be a host name or IP address, got 7894/,
    );
    rejects('websocket_uri: ["", 1]\n', /websocket_uri\[0\]: must be a host name/);
  });

  it('rejects a bad logger section, naming the key', () => {
    rejects('logger: verbose\n', /logger: must be a mapping/);
    rejects(
      'logger: {level: verbose}\n',
      /logger\.level: must be one of critical, error, warning, info, debug, got "verbose"/,
    );
    rejects('logger: {level: 3}\n', /logger\.level: must be one of/);
    rejects('logger: {max-size: 0}\n', /logger\.max-size: must be at least 1, got 0/);
    rejects(
      'logger: {max-size: 1MB}\n',
      /logger\.max-size: must be a whole number at least 1, got "1MB"/,
    );
    rejects('logger: {rotations: -1}\n', /logger\.rotations: must be at least 0/);
    rejects('logger: {file: 5}\n', /logger\.file: must be a file path, got 5/);
  });

  it('rejects bad optional keys, naming the key', () => {
    rejects(
      'channel_retention: 0\n',
      /channel_retention: must be a positive number of seconds, got 0/,
    );
    rejects('channel_retention: five\n', /channel_retention: must be a positive number/);
    rejects('allow_remote_exit: "yes"\n', /allow_remote_exit: must be true or false, got "yes"/);
    rejects('max_frame_bytes: 0\n', /max_frame_bytes: must be at least 1/);
  });
});

describe('loadConfigFile: resource limits', () => {
  it('reads every limit', () => {
    const { config, warnings } = loadConfigFile(
      file(
        [
          'failed_grace: 1.5',
          'channel_idle_timeout: 600',
          'max_channel_messages: 50',
          'max_channels: 7',
          'websocket_idle_timeout: 8',
          'max_backpressure: 4096',
          'max_connections: 3',
          'allowed_origins: ["https://ReCodEx.example.org", "http://localhost:8080"]',
          '',
        ].join('\n'),
      ),
    );
    assert.deepEqual(warnings, []);
    assert.equal(config.failedGraceMs, 1500);
    assert.equal(config.channelIdleTimeoutMs, 600_000);
    assert.equal(config.maxChannelMessages, 50);
    assert.equal(config.maxChannels, 7);
    assert.equal(config.websocketIdleTimeoutSeconds, 8);
    assert.equal(config.maxBackpressure, 4096);
    assert.equal(config.maxConnections, 3);
    assert.deepEqual(config.allowedOrigins, [
      'https://recodex.example.org',
      'http://localhost:8080',
    ]);
    assert.ok(Object.isFrozen(config.allowedOrigins));
  });

  it('allows any origin for an empty or null list', () => {
    assert.deepEqual(loadConfigFile(file('allowed_origins: []\n')).config.allowedOrigins, []);
    assert.deepEqual(loadConfigFile(file('allowed_origins:\n')).config.allowedOrigins, []);
  });

  it('rejects bad durations, naming the key', () => {
    rejects('failed_grace: 0\n', /failed_grace: must be a positive number of seconds, got 0/);
    rejects('failed_grace: "30s"\n', /failed_grace: must be a positive number of seconds/);
    rejects(
      'channel_idle_timeout: -1\n',
      /channel_idle_timeout: must be a positive number of seconds, got -1/,
    );
    rejects('channel_idle_timeout: .inf\n', /channel_idle_timeout: must be a positive number/);
  });

  it('rejects bad counts and sizes, naming the key', () => {
    rejects('max_channel_messages: 0\n', /max_channel_messages: must be at least 1, got 0/);
    rejects('max_channel_messages: 2.5\n', /max_channel_messages: must be a whole number/);
    rejects('max_channels: 0\n', /max_channels: must be at least 1, got 0/);
    rejects('max_channels: "many"\n', /max_channels: must be a whole number at least 1/);
    rejects('max_backpressure: 1023\n', /max_backpressure: must be at least 1024, got 1023/);
    rejects('max_backpressure: 1MiB\n', /max_backpressure: must be a whole number/);
    rejects('max_connections: 0\n', /max_connections: must be at least 1, got 0/);
    rejects('max_connections: -5\n', /max_connections: must be at least 1/);
  });

  it('rejects a WebSocket idle timeout that uWS would abort on, naming the key', () => {
    // uWS terminates the process for 1..7 and above 960 instead of reporting an error.
    rejects('websocket_idle_timeout: 7\n', /websocket_idle_timeout: must be from 8 to 960, got 7/);
    rejects('websocket_idle_timeout: 0\n', /websocket_idle_timeout: must be from 8 to 960/);
    rejects('websocket_idle_timeout: 961\n', /websocket_idle_timeout: must be from 8 to 960/);
    rejects('websocket_idle_timeout: 12.5\n', /websocket_idle_timeout: must be a whole number/);
    assert.equal(
      loadConfigFile(file('websocket_idle_timeout: 960\n')).config.websocketIdleTimeoutSeconds,
      960,
    );
  });

  it('rejects origins that a browser would never send, naming the entry', () => {
    rejects('allowed_origins: "https://a.org"\n', /allowed_origins: must be a list of origins/);
    rejects(
      'allowed_origins: ["https://a.org", "https://b.org/"]\n',
      /allowed_origins\[1\]: must be an origin like "https:\/\/recodex\.example\.org" .*got "https:\/\/b\.org\/"/,
    );
    rejects(
      'allowed_origins: ["recodex.example.org"]\n',
      /allowed_origins\[0\]: must be an origin/,
    );
    rejects('allowed_origins: ["https://a.org/path"]\n', /allowed_origins\[0\]: must be an origin/);
    rejects('allowed_origins: [42]\n', /allowed_origins\[0\]: must be an origin .*got 42/);
    rejects('allowed_origins: [""]\n', /allowed_origins\[0\]: must be an origin/);
  });
});

describe('etc/config.yml', () => {
  const installed = readFileSync(join(__dirname, '..', '..', 'etc', 'config.yml'), 'utf8');

  it('documents every key, and its commented values are the built-in defaults', () => {
    // Uncommenting `# key: value` lines must change nothing: the comments tell the truth.
    const uncommented = installed.replace(/^# ([a-z_]+:.*)$/gm, '$1');
    const { config, warnings } = parseConfig(loadAll(uncommented)[0], 'etc/config.yml');
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      { ...config, logger: DEFAULT_CONFIG.logger },
      { ...DEFAULT_CONFIG, logger: DEFAULT_CONFIG.logger },
    );
    for (const key of [
      'failed_grace',
      'channel_idle_timeout',
      'max_channel_messages',
      'max_channels',
      'websocket_idle_timeout',
      'max_backpressure',
      'max_connections',
      'allowed_origins',
      'max_frame_bytes',
      'metrics_uri',
    ]) {
      assert.match(uncommented, new RegExp(`^${key}:`, 'm'), key);
    }
  });
});

describe('parseConfig', () => {
  it('names the source it was given', () => {
    assert.throws(() => parseConfig([], 'inline'), /ConfigError: config inline: top level/);
  });
});

describe('metrics_uri', () => {
  it('defaults to 127.0.0.1:4568, beside the WebSocket port', () => {
    assert.deepEqual(parseConfig({}, 'c.yml').config.metrics, { host: '127.0.0.1', port: 4568 });
    assert.deepEqual(DEFAULT_CONFIG.metrics, { host: '127.0.0.1', port: 4568 });
  });

  it('takes a host and a port like websocket_uri, 0 meaning any free port', () => {
    const { config, warnings } = parseConfig({ metrics_uri: ['::1', 0] }, 'c.yml');
    assert.deepEqual(config.metrics, { host: '::1', port: 0 });
    assert.deepEqual(warnings, []);
  });

  it('refuses anything else, naming the file and the key', () => {
    const cases: [unknown, RegExp][] = [
      ['127.0.0.1:4568', /^config c\.yml: metrics_uri: must be a list of a host and a port/],
      [['', 4568], /^config c\.yml: metrics_uri\[0\]: must be a host name/],
      [['127.0.0.1', 70000], /^config c\.yml: metrics_uri\[1\]: must be from 0 to 65535/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => parseConfig({ metrics_uri: value }, 'c.yml'),
        (error: Error) => error instanceof ConfigError && message.test(error.message),
      );
    }
  });

  it('refuses the WebSocket port itself, which would publish counts to the world', () => {
    assert.throws(
      () =>
        parseConfig({ websocket_uri: ['0.0.0.0', 4567], metrics_uri: ['0.0.0.0', 4567] }, 'c.yml'),
      /^ConfigError: config c\.yml: metrics_uri: must differ from websocket_uri, got \["0\.0\.0\.0",4567\]$/,
    );
    // Two ephemeral ports never collide.
    const both = { websocket_uri: ['127.0.0.1', 0], metrics_uri: ['127.0.0.1', 0] };
    assert.equal(parseConfig(both, 'c.yml').config.metrics.port, 0);
  });
});
