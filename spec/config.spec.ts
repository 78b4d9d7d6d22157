import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
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

describe('parseConfig', () => {
  it('names the source it was given', () => {
    assert.throws(() => parseConfig([], 'inline'), /ConfigError: config inline: top level/);
  });
});
