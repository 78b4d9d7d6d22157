/**
 * The winston logger: Python-style lines to a size-rotated file and/or stderr.
 *
 * `[2026-12-03 15:28:08,123] [recodex-monitor] [INFO] message`, as the original wrote them.
 * Under systemd, stderr lines carry a syslog priority instead, for the journal.
 */
import { accessSync, constants, fstatSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import type Transport from 'winston-transport';
import { LOG_LEVELS, type LoggerConfig, type LogLevel } from './config';

export interface Logger {
  critical(message: string): void;
  error(message: string): void;
  warning(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  /** Lets hot paths skip building messages that the level would not print. */
  isLevelEnabled(level: LogLevel): boolean;
  /** Writes out everything buffered and releases the file. */
  close(): Promise<void>;
}

export interface LoggerOptions {
  /** Also log to stderr; by default when stderr is a terminal or there is no file. */
  readonly stderr?: boolean;
  /** Where stderr lines and warnings about the log file go (tests pass their own). */
  readonly stderrStream?: NodeJS.WritableStream;
  /** Stderr is the systemd journal; by default detected with `stderrIsJournal()`. */
  readonly journal?: boolean;
}

/** The process's own logger: the one that owns the log file. */
export interface FileLogger extends Logger {
  /**
   * Closes the log file and opens it again under its configured name, so that a file moved
   * or deleted by logrotate or by hand is recreated (`systemctl reload` sends SIGHUP).
   */
  reopen(): void;
}

const LEVEL_PRIORITY = Object.fromEntries(LOG_LEVELS.map((level, index) => [level, index]));

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `2026-12-03 15:28:08,123` in local time, as Python's `logging` writes `asctime`. */
export function formatTimestamp(date: Date): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())},` +
    pad(date.getMilliseconds(), 3)
  );
}

/** One log line without its newline. */
export function formatLine(date: Date, level: string, message: string): string {
  return `[${formatTimestamp(date)}] [recodex-monitor] [${level.toUpperCase()}] ${message}`;
}

const lineFormat = winston.format.printf((info) =>
  formatLine(new Date(), info.level, String(info.message)),
);

/** sd-daemon(3) priorities: journald reads a leading `<N>` as the line's syslog level. */
const JOURNAL_PRIORITY: Record<LogLevel, number> = {
  critical: 2,
  error: 3,
  warning: 4,
  info: 6,
  debug: 7,
};

/** One journal line without its newline: the journal adds the time and the unit itself. */
export function formatJournalLine(level: LogLevel, message: string): string {
  return `<${JOURNAL_PRIORITY[level]}>[${level.toUpperCase()}] ${message}`;
}

const journalFormat = winston.format.printf((info) =>
  formatJournalLine(info.level as LogLevel, String(info.message)),
);

/**
 * Whether stderr is connected to the journal: systemd sets `JOURNAL_STREAM` to the device and
 * inode of that stream, and a child process that inherited only the variable must not match.
 */
export function stderrIsJournal(
  env: NodeJS.ProcessEnv = process.env,
  stat: () => { dev: bigint; ino: bigint } = () => fstatSync(2, { bigint: true }),
): boolean {
  const match = /^(\d+):(\d+)$/.exec(env.JOURNAL_STREAM ?? '');
  if (match === null) return false;
  try {
    const { dev, ino } = stat();
    return BigInt(match[1]) === dev && BigInt(match[2]) === ino;
  } catch {
    return false;
  }
}

export function createLogger(config: LoggerConfig, options: LoggerOptions = {}): FileLogger {
  const errors = options.stderrStream ?? process.stderr;
  const journal = options.journal ?? stderrIsJournal();
  // The file's own errors cannot go through the logger that writes to it.
  const warn = (message: string): void => {
    const line = journal
      ? formatJournalLine('warning', message)
      : formatLine(new Date(), 'warning', message);
    errors.write(`${line}\n`);
  };
  let file: DailyRotateFile | undefined;
  let fileProblem: string | undefined;
  if (config.file !== undefined) {
    try {
      file = fileTransport(config, warn);
    } catch (error) {
      fileProblem = `cannot open log file ${config.file}: ${(error as Error).message}; logging to stderr only`;
    }
  }
  const wantStderr =
    options.stderr ?? (journal || process.stderr.isTTY === true || config.file === undefined);
  const stderr = new winston.transports.Stream({
    stream: errors,
    format: journal ? journalFormat : lineFormat,
  });
  // Without a file, stderr is the only place left even when it was not asked for.
  let stderrOnlyAsFallback = !wantStderr && file === undefined;
  const transports: Transport[] = [];
  if (file !== undefined) transports.push(file);
  if (wantStderr || file === undefined) transports.push(stderr);
  const logger = winston.createLogger({
    levels: LEVEL_PRIORITY,
    level: config.level,
    format: lineFormat,
    transports,
    exitOnError: false,
  });
  if (fileProblem !== undefined) logger.log('warning', fileProblem);

  const retired: Promise<unknown>[] = [];
  let closing = false;
  const reopen = (): void => {
    // A SIGHUP during shutdown must not add a file to a logger that has ended.
    if (config.file === undefined || closing) return;
    let next: DailyRotateFile;
    try {
      next = fileTransport(config, warn);
    } catch (error) {
      logger.log(
        'warning',
        `cannot reopen log file ${config.file}: ${(error as Error).message}; ` +
          (file === undefined ? 'logging to stderr only' : 'still writing to the previous file'),
      );
      return;
    }
    if (file !== undefined) {
      const previous = file;
      // Removing a transport unpipes it, which closes it: it finishes once its file is flushed.
      retired.push(new Promise((resolve) => previous.once('finish', resolve)));
      logger.remove(previous);
    }
    logger.add(next);
    file = next;
    if (stderrOnlyAsFallback) {
      logger.remove(stderr);
      stderrOnlyAsFallback = false;
    }
    logger.log('info', `reopened log file ${config.file}`);
  };

  return {
    critical: (message) => logger.log('critical', message),
    error: (message) => logger.log('error', message),
    warning: (message) => logger.log('warning', message),
    info: (message) => logger.log('info', message),
    debug: (message) => logger.log('debug', message),
    isLevelEnabled: (level) => LEVEL_PRIORITY[level] <= LEVEL_PRIORITY[config.level],
    reopen,
    close: async () => {
      closing = true;
      await closeLogger(logger);
      await Promise.all(retired);
    },
  };
}

/**
 * Rotates by size: `monitor.log` is a symlink to the file being written, and at most
 * `rotations` older files are kept beside it.
 */
function fileTransport(config: LoggerConfig, warn: (message: string) => void): DailyRotateFile {
  const file = config.file as string;
  const directory = dirname(file);
  // Fail now, with a clear reason, rather than in an asynchronous stream error later.
  mkdirSync(directory, { recursive: true });
  accessSync(directory, constants.W_OK);
  const transport = new DailyRotateFile({
    filename: `${basename(file)}.%DATE%`,
    dirname: directory,
    datePattern: 'YYYY-MM-DD',
    maxSize: config.maxSize,
    maxFiles: config.rotations + 1,
    auditFile: join(directory, `.${basename(file)}-audit.json`),
    createSymlink: true,
    symlinkName: basename(file),
  });
  transport.on('error', (error: Error) => warn(`log file ${file}: ${error.message}`));
  return transport;
}

async function closeLogger(logger: winston.Logger): Promise<void> {
  const files = logger.transports.filter((t) => t instanceof DailyRotateFile);
  // A transport finishes twice: once when winston has handed it every line, and again
  // when its own close() has flushed the file behind it.
  const handedOver = files.map((t) => new Promise((resolve) => t.once('finish', resolve)));
  logger.end();
  await Promise.all(handedOver);
  await Promise.all(
    files.map(
      (t) =>
        new Promise((resolve) => {
          t.once('finish', resolve);
          t.close?.();
        }),
    ),
  );
}
