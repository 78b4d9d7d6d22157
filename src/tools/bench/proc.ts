/**
 * What the kernel says about a process, from /proc: CPU time, resident memory, open-file
 * limit. The monitor under test is a separate process, so this is how its cost is seen.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux in practice). */
export function clockTicksPerSecond(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

export class ProcessProbe {
  constructor(
    readonly pid: number,
    private readonly ticksPerSecond: number,
  ) {}

  /** User plus system CPU time in seconds (tick resolution). */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 (utime) and 15 (stime) of proc(5); the list here starts at field 3.
    return (Number(fields[11]) + Number(fields[12])) / this.ticksPerSecond;
  }

  /** Resident set size in bytes (VmRSS). */
  rssBytes(): number {
    return statusField(this.pid, 'VmRSS') * 1024;
  }

  /** The limits on open files, or undefined when the kernel does not say. */
  openFileLimit(): FileLimit | undefined {
    return openFileLimit(this.pid);
  }
}

/** `Max open files` of a process: the soft limit in force and the hard one it may rise to. */
export interface FileLimit {
  readonly soft: number;
  readonly hard: number;
}

/** `Max open files` of a process (`self` for this one). */
export function openFileLimit(pid: number | 'self' = 'self'): FileLimit | undefined {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(limits);
  if (match === null) return undefined;
  const value = (text: string): number =>
    text === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(text);
  return { soft: value(match[1]), hard: value(match[2]) };
}

function statusField(pid: number, name: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
  if (match === null) throw new Error(`/proc/${pid}/status has no ${name}`);
  return Number(match[1]);
}
