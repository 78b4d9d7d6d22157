/** A `Logger` that keeps its lines in memory, for assertions. */
import type { LogLevel } from '../../src/config';
import type { Logger } from '../../src/logger';

export interface MemoryLogger extends Logger {
  readonly lines: { level: LogLevel; message: string }[];
  /** Lines at `level` whose message contains `text`. */
  find(level: LogLevel, text: string): string[];
}

export function memoryLogger(): MemoryLogger {
  const lines: { level: LogLevel; message: string }[] = [];
  const at = (level: LogLevel) => (message: string) => {
    lines.push({ level, message });
  };
  return {
    lines,
    critical: at('critical'),
    error: at('error'),
    warning: at('warning'),
    info: at('info'),
    debug: at('debug'),
    isLevelEnabled: () => true,
    close: () => Promise.resolve(),
    find: (level, text) =>
      lines.filter((l) => l.level === level && l.message.includes(text)).map((l) => l.message),
  };
}
