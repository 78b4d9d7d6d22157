/**
 * The winston logger: Python-style lines to a size-rotated file and/or stderr.
 *
 * `[2026-12-03 15:28:08,123] [recodex-monitor] [INFO] message`, as the original wrote them.
 */
import { accessSync, constants, mkdirSync } from 'node:fs';
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

export function createLogger(config: LoggerConfig, options: LoggerOptions = {}): Logger {
  const errors = options.stderrStream ?? process.stderr;
  const transports: Transport[] = [];
  let fileProblem: string | undefined;
  if (config.file !== undefined) {
    try {
      transports.push(fileTransport(config, errors));
    } catch (error) {
      fileProblem = `cannot open log file ${config.file}: ${(error as Error).message}; logging to stderr only`;
    }
  }
  const wantStderr = options.stderr ?? (process.stderr.isTTY === true || config.file === undefined);
  if (wantStderr || transports.length === 0) {
    transports.push(new winston.transports.Stream({ stream: errors }));
  }
  const logger = winston.createLogger({
    levels: LEVEL_PRIORITY,
    level: config.level,
    format: lineFormat,
    transports,
    exitOnError: false,
  });
  if (fileProblem !== undefined) logger.log('warning', fileProblem);
  return {
    critical: (message) => logger.log('critical', message),
    error: (message) => logger.log('error', message),
    warning: (message) => logger.log('warning', message),
    info: (message) => logger.log('info', message),
    debug: (message) => logger.log('debug', message),
    isLevelEnabled: (level) => LEVEL_PRIORITY[level] <= LEVEL_PRIORITY[config.level],
    close: () => closeLogger(logger),
  };
}

/**
 * Rotates by size: `monitor.log` is a symlink to the file being written, and at most
 * `rotations` older files are kept beside it.
 */
function fileTransport(config: LoggerConfig, errors: NodeJS.WritableStream): DailyRotateFile {
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
  transport.on('error', (error: Error) => {
    errors.write(`${formatLine(new Date(), 'warning', `log file ${file}: ${error.message}`)}\n`);
  });
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
