/** Runs a packaged monitor as a child process and sends one job through it. */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeBroker } from './broker';
import { waitForMatch } from './process';
import { RecordingClient, withTimeout } from './ws-client';

const LISTENING =
  /listening for WebSockets on 127\.0\.0\.1:(\d+), for the broker on tcp:\/\/127\.0\.0\.1:(\d+)/;

/** A monitor started from a package, with its stdout and stderr collected. */
export class ChildMonitor {
  output = '';
  readonly exited: Promise<number | null>;

  constructor(readonly process: ChildProcess) {
    process.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    process.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = once(process, 'exit').then(([code]) => code as number | null);
  }

  stop(signal: NodeJS.Signals): void {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill(signal);
    }
  }
}

/** Sends a job through a running monitor: one message before the subscription, two after. */
export async function relayOneJob(readLog: () => string): Promise<void> {
  const [, wsPort, zmqPort] = await waitForMatch(readLog, LISTENING, 'the listening line', 20_000);
  const broker = new FakeBroker(Number(zmqPort));
  try {
    await broker.send('package-job', 'STARTED');
    const client = new RecordingClient(`ws://127.0.0.1:${wsPort}/`, 'package-job');
    await client.opened;
    await client.waitForMessages(1);
    await broker.send('package-job', 'TASK', 'compile', 'COMPLETED');
    await broker.send('package-job', 'FINISHED');
    const closed = await withTimeout(client.closed, 10_000, 'the close after FINISHED');
    assert.deepEqual(client.messages, [
      '{"command": "STARTED"}',
      '{"command": "TASK", "task_id": "compile", "task_state": "COMPLETED"}',
      '{"command": "FINISHED"}',
    ]);
    assert.equal(closed.code, 1000);
  } finally {
    broker.close();
  }
}

/** A config only the test uses: free loopback ports, readable by the `recodex` user. */
export function temporaryConfig(logFile: string | undefined): string {
  const directory = mkdtempSync(join(tmpdir(), 'recodex-deb-'));
  chmodSync(directory, 0o755);
  const path = join(directory, 'config.yml');
  const logger = logFile === undefined ? '{level: debug}' : `{file: "${logFile}", level: debug}`;
  writeFileSync(
    path,
    'websocket_uri: ["127.0.0.1", 0]\nzeromq_uri: ["127.0.0.1", 0]\nmetrics_uri: ["127.0.0.1", 0]\n' +
      `logger: ${logger}\n`,
    { mode: 0o644 },
  );
  return path;
}
