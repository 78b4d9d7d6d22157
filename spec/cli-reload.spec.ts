/** `systemctl reload`: SIGHUP to the built CLI reopens its log file and nothing else changes. */
import assert from 'node:assert/strict';
import {
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeBroker } from './helpers/broker';
import { CliProcess } from './helpers/cli-process';
import { readIfExists, waitForMatch, waitForText } from './helpers/process';
import { RecordingClient, withTimeout } from './helpers/ws-client';

const LISTENING =
  /listening for WebSockets on 127\.0\.0\.1:(\d+), for the broker on tcp:\/\/127\.0\.0\.1:(\d+)/;

describe('recodex-monitor on SIGHUP', () => {
  const directory = mkdtempSync(join(tmpdir(), 'monitor-reload-'));
  after(() => rmSync(directory, { recursive: true, force: true }));

  it('writes to a fresh log file after the old one was moved away, and keeps relaying', async () => {
    const log = join(directory, 'logs', 'monitor.log');
    const config = join(directory, 'file.yml');
    writeFileSync(
      config,
      'websocket_uri: ["127.0.0.1", 0]\nzeromq_uri: ["127.0.0.1", 0]\nmetrics_uri: ["127.0.0.1", 0]\n' +
        `logger: {file: "${log}", level: debug}\n`,
    );
    const cli = new CliProcess(['-c', config]);
    let broker: FakeBroker | undefined;
    try {
      const [, wsPort, zmqPort] = await waitForMatch(
        () => readIfExists(log),
        LISTENING,
        'the listening line in the log file',
      );
      broker = new FakeBroker(Number(zmqPort));
      await broker.send('job-1', 'STARTED');
      await waitForText(log, 'channel job-1: {"command": "STARTED"}');

      // What logrotate or an admin does: the file goes elsewhere, the name is free again.
      const moved = join(directory, 'moved.log');
      renameSync(realpathSync(log), moved);
      unlinkSync(log);
      cli.kill('SIGHUP');
      await waitForText(log, 'reopened log file');
      await broker.send('job-1', 'FINISHED');
      await waitForText(log, 'channel job-1: {"command": "FINISHED"}');

      const old = readFileSync(moved, 'utf8');
      assert.match(old, /\[INFO\] received SIGHUP: reopening the log file\n/);
      assert.doesNotMatch(old, /FINISHED/);
      assert.doesNotMatch(readFileSync(log, 'utf8'), /STARTED/);

      // Still the same monitor: the channel kept its history across the reload.
      assert.equal(cli.child.exitCode, null);
      const client = new RecordingClient(`ws://127.0.0.1:${wsPort}/`, 'job-1');
      const closed = await withTimeout(client.closed, 5000, 'the close after FINISHED');
      assert.equal(closed.code, 1000);
      assert.deepEqual(client.commands(), ['STARTED', 'FINISHED']);

      cli.kill('SIGTERM');
      const finished = await withTimeout(cli.exited, 10_000, 'the exit');
      assert.equal(finished.code, 0);
      assert.match(readFileSync(log, 'utf8'), /shutting down: received SIGTERM\n/);
    } finally {
      broker?.close();
      cli.kill();
    }
  });

  it('survives a SIGHUP without a log file', async () => {
    const config = join(directory, 'stderr.yml');
    writeFileSync(
      config,
      'websocket_uri: ["127.0.0.1", 0]\nzeromq_uri: ["127.0.0.1", 0]\nmetrics_uri: ["127.0.0.1", 0]\n' +
        'logger: {level: debug}\n',
    );
    const cli = new CliProcess(['-c', config]);
    try {
      const [, , zmqPort] = await cli.waitForStderr(LISTENING);
      cli.kill('SIGHUP');
      await cli.waitForStderr(/received SIGHUP: reopening the log file/);
      const broker = new FakeBroker(Number(zmqPort));
      try {
        await broker.send('job-2', 'STARTED');
        await cli.waitForStderr(/channel job-2: \{"command": "STARTED"\}/);
      } finally {
        broker.close();
      }
      cli.kill('SIGTERM');
      assert.equal((await withTimeout(cli.exited, 10_000, 'the exit')).code, 0);
    } finally {
      cli.kill();
    }
  });
});
