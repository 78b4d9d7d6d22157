/** Running commands and waiting for what they do, without sleeping for fixed times. */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface Finished {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without a shell; resolves with its exit code and output, never rejects. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Finished> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd,
        env: options.env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr: error !== null && code === -1 ? String(error) : stderr });
      },
    );
  });
}

/** Whether `command` is on PATH (synchronous, for deciding whether to skip a suite). */
export function have(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command]).status === 0;
}

/** Polls `check` until it returns something other than undefined; rejects after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = check();
    if (result !== undefined) return result;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The file's text, or '' while it does not exist. */
export function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

/** Waits until the file contains `text`. */
export async function waitForText(path: string, text: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    () => (readIfExists(path).includes(text) ? true : undefined),
    `"${text}" in ${path}`,
    timeoutMs,
  );
}

/** Waits until `read()` matches `pattern` and returns the match. */
export function waitForMatch(
  read: () => string,
  pattern: RegExp,
  what: string,
  timeoutMs = 10_000,
): Promise<RegExpExecArray> {
  return waitFor(() => pattern.exec(read()) ?? undefined, what, timeoutMs);
}
