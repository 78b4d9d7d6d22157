import assert from 'node:assert/strict';
import {
  fstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { LoggerConfig } from '../src/config';
import { createLogger, formatJournalLine, stderrIsJournal } from '../src/logger';
import { readIfExists, waitForText } from './helpers/process';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('logger.reopen', () => {
  let dir: string;
  let file: string;
  let config: LoggerConfig;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'recodex-logger-'));
    file = join(dir, 'logs', 'monitor.log');
    config = { file, level: 'debug', maxSize: 1024 * 1024, rotations: 3 };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts a new file after the old one was moved away, and the old one stops growing', async () => {
    const errors = capture();
    const logger = createLogger(config, { stderr: false, stderrStream: errors.stream });
    logger.info('before the move');
    await waitForText(file, 'before the move');
    const current = join(dir, 'logs', readlinkSync(file));
    const moved = join(dir, 'moved.log');
    renameSync(current, moved);
    unlinkSync(file);
    // Still on its way to the old file when the reopen happens: it must not be lost.
    logger.info('just before the reopen');

    logger.reopen();
    logger.info('after the move');
    await logger.close();

    const fresh = readFileSync(file, 'utf8');
    assert.match(fresh, /\[INFO\] reopened log file .*monitor\.log\n/);
    assert.match(fresh, /\[INFO\] after the move\n/);
    assert.doesNotMatch(fresh, /before the move/);
    assert.doesNotMatch(fresh, /just before the reopen/);
    const old = readFileSync(moved, 'utf8');
    assert.match(old, /before the move\n.*just before the reopen\n$/);
    assert.doesNotMatch(old, /after the move/);
    assert.equal(errors.text(), '');
  });

  it('keeps writing to the previous file when the new one cannot be opened', async () => {
    const logger = createLogger(config, { stderr: false, stderrStream: capture().stream });
    logger.info('first');
    await waitForText(file, 'first');
    // The directory is replaced by a plain file: the log cannot be created there any more.
    const movedDir = join(dir, 'logs-moved');
    renameSync(join(dir, 'logs'), movedDir);
    writeFileSync(join(dir, 'logs'), 'not a directory');

    logger.reopen();
    logger.info('second');
    await logger.close();

    const kept = readFileSync(join(movedDir, readlinkSync(join(movedDir, 'monitor.log'))), 'utf8');
    assert.match(kept, /first\n/);
    assert.match(
      kept,
      /\[WARNING\] cannot reopen log file .*; still writing to the previous file\n/,
    );
    assert.match(kept, /second\n/);
  });

  it('moves from the stderr fallback to the file once the file can be opened', async () => {
    writeFileSync(join(dir, 'logs'), 'not a directory');
    const errors = capture();
    const logger = createLogger(config, { stderr: false, stderrStream: errors.stream });
    logger.info('while there is no file');
    rmSync(join(dir, 'logs'));

    logger.reopen();
    logger.info('with a file again');
    await logger.close();

    assert.match(errors.text(), /\[WARNING\] cannot open log file .*; logging to stderr only\n/);
    assert.match(errors.text(), /while there is no file/);
    assert.doesNotMatch(errors.text(), /with a file again/);
    assert.match(readIfExists(file), /with a file again\n/);
  });

  it('ignores a reopen once closing has begun', async () => {
    const logger = createLogger(config, { stderr: false, stderrStream: capture().stream });
    logger.info('only line');
    const closed = logger.close();
    logger.reopen();
    await closed;
    assert.doesNotMatch(readFileSync(file, 'utf8'), /reopened/);
  });

  it('does nothing without a log file', async () => {
    const errors = capture();
    const logger = createLogger({ ...config, file: undefined }, { stderrStream: errors.stream });
    logger.reopen();
    logger.info('still here');
    await logger.close();
    assert.match(errors.text(), /still here/);
    assert.doesNotMatch(errors.text(), /reopen/);
  });
});

describe('journal lines', () => {
  it('carry the syslog priority that journald reads, and no timestamp', async () => {
    const errors = capture();
    const logger = createLogger(
      { file: undefined, level: 'debug', maxSize: 1, rotations: 0 },
      { stderrStream: errors.stream, journal: true },
    );
    logger.critical('a');
    logger.error('b');
    logger.warning('c');
    logger.info('d');
    logger.debug('e');
    await logger.close();
    assert.equal(
      errors.text(),
      '<2>[CRITICAL] a\n<3>[ERROR] b\n<4>[WARNING] c\n<6>[INFO] d\n<7>[DEBUG] e\n',
    );
  });

  it('format one line per message', () => {
    assert.equal(formatJournalLine('warning', 'dropped'), '<4>[WARNING] dropped');
  });
});

describe('stderrIsJournal', () => {
  const stderr = { dev: 27n, ino: 123456789012n };

  it('is true when JOURNAL_STREAM names the device and inode of stderr', () => {
    assert.equal(
      stderrIsJournal({ JOURNAL_STREAM: '27:123456789012' }, () => stderr),
      true,
    );
  });

  it('is false for a variable inherited by a process whose stderr goes elsewhere', () => {
    assert.equal(
      stderrIsJournal({ JOURNAL_STREAM: '27:5' }, () => stderr),
      false,
    );
  });

  it('is false without the variable, with a malformed one, or when stderr is closed', () => {
    assert.equal(
      stderrIsJournal({}, () => stderr),
      false,
    );
    assert.equal(
      stderrIsJournal({ JOURNAL_STREAM: 'journal' }, () => stderr),
      false,
    );
    assert.equal(
      stderrIsJournal({ JOURNAL_STREAM: '27:123456789012' }, () => {
        throw new Error('EBADF');
      }),
      false,
    );
  });

  it('compares with the real stderr by default', () => {
    const { dev, ino } = fstatSync(2, { bigint: true });
    assert.equal(stderrIsJournal({ JOURNAL_STREAM: `${dev}:${ino}` }), true);
    assert.equal(stderrIsJournal({ JOURNAL_STREAM: `${dev}:${ino + 1n}` }), false);
  });
});
