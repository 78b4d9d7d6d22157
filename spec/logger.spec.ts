import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type { LoggerConfig } from '../src/config';
import { createLogger, formatLine, formatTimestamp } from '../src/logger';

const LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] \[recodex-monitor\] \[([A-Z]+)\] (.*)$/;

function config(overrides: Partial<LoggerConfig> = {}): LoggerConfig {
  return { file: undefined, level: 'info', maxSize: 1024 * 1024, rotations: 3, ...overrides };
}

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('log line format', () => {
  it('writes the timestamp as Python logging does, in local time', () => {
    assert.equal(formatTimestamp(new Date(2026, 11, 3, 15, 28, 8, 123)), '2026-12-03 15:28:08,123');
    assert.equal(formatTimestamp(new Date(2027, 0, 9, 4, 5, 6, 7)), '2027-01-09 04:05:06,007');
  });

  it('writes [time] [recodex-monitor] [LEVEL] message', () => {
    const date = new Date(2026, 11, 3, 15, 28, 8, 123);
    assert.equal(
      formatLine(date, 'warning', 'dropped a message'),
      '[2026-12-03 15:28:08,123] [recodex-monitor] [WARNING] dropped a message',
    );
  });
});

describe('createLogger', () => {
  it('logs to stderr when there is no file, filtering by level', async () => {
    const err = capture();
    const logger = createLogger(config({ level: 'warning' }), { stderrStream: err.stream });
    logger.debug('not shown');
    logger.info('not shown either');
    logger.warning('shown');
    logger.critical('also shown');
    await tick();
    const lines = err.text().trimEnd().split('\n');
    assert.deepEqual(
      lines.map((line) => LINE.exec(line)?.slice(1)),
      [
        ['WARNING', 'shown'],
        ['CRITICAL', 'also shown'],
      ],
    );
    assert.equal(logger.isLevelEnabled('warning'), true);
    assert.equal(logger.isLevelEnabled('info'), false);
  });

  it('writes to the file, behind a symlink with the configured name', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'monitor-log-'));
    const file = join(directory, 'monitor.log');
    const err = capture();
    const logger = createLogger(config({ file, level: 'debug' }), {
      stderr: false,
      stderrStream: err.stream,
    });
    logger.debug('first');
    logger.error('second');
    await logger.close();
    assert.ok(lstatSync(file).isSymbolicLink());
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.deepEqual(
      lines.map((line) => LINE.exec(line)?.slice(1)),
      [
        ['DEBUG', 'first'],
        ['ERROR', 'second'],
      ],
    );
    assert.equal(err.text(), '', 'nothing on stderr when it is not wanted');
  });

  it('rotates by size and keeps only `rotations` old files', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'monitor-rotate-'));
    const file = join(directory, 'monitor.log');
    const logger = createLogger(config({ file, maxSize: 2000, rotations: 2 }), { stderr: false });
    const message = 'x'.repeat(100);
    // About 25 KB in all: a dozen rotations. Pauses let each file be created before the
    // next rotation looks for the oldest to delete.
    for (let i = 0; i < 200; i++) {
      logger.info(`${i} ${message}`);
      if (i % 5 === 4) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await logger.close();
    const logs = readdirSync(directory).filter(
      (name) => !name.startsWith('.') && name !== 'monitor.log',
    );
    assert.equal(logs.length, 3, `current + 2 rotated, got ${logs.join(', ')}`);
    for (const name of logs) {
      const size = lstatSync(join(directory, name)).size;
      // A file rotates once it passes the limit, so it ends within one line of it.
      assert.ok(size <= 2000 + 200, `${name} has ${size} bytes`);
    }
    // The symlink names the newest file, which holds the last line.
    const current = readFileSync(join(directory, readlinkSync(file)), 'utf8');
    assert.match(current, /\] 199 x+\n$/);
  });

  it('falls back to stderr with a warning when the file cannot be opened', async () => {
    const err = capture();
    // A directory below a character device can never be created, even by root.
    const logger = createLogger(config({ file: '/dev/null/recodex/monitor.log' }), {
      stderr: false,
      stderrStream: err.stream,
    });
    logger.info('still logged');
    await tick();
    const lines = err.text().trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(
      lines[0],
      /\[WARNING\] cannot open log file \/dev\/null\/recodex\/monitor\.log: .*; logging to stderr only$/,
    );
    assert.match(lines[1], /\[INFO\] still logged$/);
  });
});
