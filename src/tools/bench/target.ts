/**
 * The process under test: the built monitor or the naive floor spawned as a child on free
 * loopback ports, or an installation that is already running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessProbe } from './proc';

export interface Target {
  /** What the figures are of, e.g. `monitor` or `floor`. */
  readonly name: string;
  /** `ws://127.0.0.1:PORT/` */
  readonly url: string;
  /** `tcp://127.0.0.1:PORT` */
  readonly zeromq: string;
  /** Reads the process' CPU and memory; undefined when its pid is unknown. */
  readonly probe: ProcessProbe | undefined;
  /** Why the process is gone, when it ended on its own; the run is then broken. */
  died(): string | undefined;
  stop(): Promise<void>;
}

export type LogLevel = 'info' | 'debug';

const START_TIMEOUT_MS = 15_000;

/** The built `recodex-monitor` with a temporary config: ports 0, a log file at `level`. */
export async function spawnMonitor(level: LogLevel, ticksPerSecond: number): Promise<Target> {
  const directory = mkdtempSync(join(tmpdir(), 'recodex-bench-'));
  const log = join(directory, 'monitor.log');
  const config = join(directory, 'config.yml');
  // The deployed config's shape: a rotated log file, here at the level under test.
  writeFileSync(
    config,
    [
      'websocket_uri: ["127.0.0.1", 0]',
      'zeromq_uri: ["127.0.0.1", 0]',
      // Not the default 4568: an installation on this machine may hold it.
      'metrics_uri: ["127.0.0.1", 0]',
      'logger:',
      `  file: ${JSON.stringify(log)}`,
      `  level: ${level}`,
      '  max-size: 1048576',
      '  rotations: 3',
      '',
    ].join('\n'),
  );
  const cli = join(__dirname, '..', '..', 'cli.js');
  const child = spawn(process.execPath, [cli, '-c', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const watched = watch(child);
  try {
    const line = await poll(watched, () => {
      const text = readIfExists(log);
      return /listening for WebSockets on \S+:(\d+), for the broker on (tcp:\/\/\S+:\d+)/.exec(
        text,
      );
    });
    return childTarget(level === 'info' ? 'monitor' : 'monitor (debug)', watched, {
      url: `ws://127.0.0.1:${line[1]}/`,
      zeromq: line[2],
      ticksPerSecond,
      cleanup: () => rmSync(directory, { recursive: true, force: true }),
    });
  } catch (error) {
    await stopChild(watched);
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

/** The naive pass-through, which prints its ports as one JSON line when it is ready. */
export async function spawnFloor(ticksPerSecond: number): Promise<Target> {
  const script = join(__dirname, 'naive-monitor.js');
  const child = spawn(process.execPath, [script, '127.0.0.1', '0', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  const watched = watch(child);
  try {
    const ports = await poll(watched, () => {
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      return line === undefined
        ? null
        : (JSON.parse(line) as { websocket: number; zeromq: number });
    });
    return childTarget('floor', watched, {
      url: `ws://127.0.0.1:${ports.websocket}/`,
      zeromq: `tcp://127.0.0.1:${ports.zeromq}`,
      ticksPerSecond,
      cleanup: () => undefined,
    });
  } catch (error) {
    await stopChild(watched);
    throw error;
  }
}

/** An installation that is already running; CPU and memory figures need its pid. */
export function externalTarget(
  url: string,
  zeromq: string,
  pid: number | undefined,
  ticksPerSecond: number,
): Target {
  requireLoopback(new URL(url).hostname, '--url');
  const zmq = /^tcp:\/\/(\[[^\]]+\]|[^:]+):\d+$/.exec(zeromq);
  if (zmq === null) throw new Error(`--zeromq must look like tcp://127.0.0.1:7894, got ${zeromq}`);
  requireLoopback(zmq[1], '--zeromq');
  return {
    name: 'monitor',
    url,
    zeromq,
    probe: pid === undefined ? undefined : new ProcessProbe(pid, ticksPerSecond),
    died: () => undefined,
    stop: () => Promise.resolve(),
  };
}

/** The bench floods its target: it only ever talks to this machine. */
function requireLoopback(host: string, option: string): void {
  const bare = host.replace(/^\[|\]$/g, '');
  if (!/^127\.\d+\.\d+\.\d+$/.test(bare) && bare !== '::1' && bare !== 'localhost') {
    throw new Error(`${option}: the bench only talks to loopback addresses, got ${host}`);
  }
}

interface Watched {
  readonly child: ChildProcess;
  /** Set once the child exited. */
  exit: string | undefined;
  readonly exited: Promise<void>;
  stderr: string;
}

function watch(child: ChildProcess): Watched {
  const watched: Watched = {
    child,
    exit: undefined,
    stderr: '',
    exited: new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        watched.exit = signal === null ? `exited with ${code}` : `killed by ${signal}`;
        resolve();
      });
    }),
  };
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    // Keep the tail only: enough to explain a failure.
    watched.stderr = (watched.stderr + chunk).slice(-4000);
  });
  return watched;
}

function childTarget(
  name: string,
  watched: Watched,
  where: { url: string; zeromq: string; ticksPerSecond: number; cleanup: () => void },
): Target {
  let stopping = false;
  return {
    name,
    url: where.url,
    zeromq: where.zeromq,
    probe: new ProcessProbe(watched.child.pid as number, where.ticksPerSecond),
    died: () =>
      !stopping && watched.exit !== undefined
        ? `${name} ${watched.exit}${watched.stderr === '' ? '' : `: ${watched.stderr.trim()}`}`
        : undefined,
    stop: async () => {
      stopping = true;
      await stopChild(watched);
      where.cleanup();
    },
  };
}

async function poll<T>(watched: Watched, ready: () => T | null): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const value = ready();
    if (value !== null) return value;
    if (watched.exit !== undefined) {
      throw new Error(`the process under test ${watched.exit} at start: ${watched.stderr.trim()}`);
    }
    if (Date.now() > deadline) throw new Error('the process under test did not start in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopChild(watched: Watched): Promise<void> {
  if (watched.exit !== undefined) return;
  watched.child.kill('SIGTERM');
  const timer = setTimeout(() => watched.child.kill('SIGKILL'), 5000);
  await watched.exited;
  clearTimeout(timer);
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
