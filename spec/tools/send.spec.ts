import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connectHost, parseHostPort } from '../../src/tools/send';
import { runCli } from '../helpers/cli-process';
import { unusedPort } from '../helpers/ports';
import { startMonitor, type RunningMonitor } from '../helpers/running-monitor';
import { withTimeout } from '../helpers/ws-client';

describe('parseHostPort', () => {
  it('reads HOST:PORT, [IPv6]:PORT and tcp:// addresses', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:7894'), { host: '127.0.0.1', port: 7894 });
    assert.deepEqual(parseHostPort('tcp://localhost:1'), { host: 'localhost', port: 1 });
    assert.deepEqual(parseHostPort('[::1]:65535'), { host: '::1', port: 65535 });
  });

  it('refuses anything else with an example', () => {
    for (const text of ['7894', 'host:', 'host:0', 'host:65536', '::1:7894', 'a:b']) {
      assert.throws(() => parseHostPort(text), /expected HOST:PORT, like 127\.0\.0\.1:7894/, text);
    }
  });
});

describe('connectHost', () => {
  it('turns a wildcard bind address into this machine', () => {
    assert.equal(connectHost('0.0.0.0'), '127.0.0.1');
    assert.equal(connectHost('::'), '::1');
    assert.equal(connectHost('10.0.0.5'), '10.0.0.5');
  });
});

describe('recodex-monitor send', () => {
  let running: RunningMonitor;
  let directory: string;
  before(async () => {
    running = await startMonitor();
    directory = mkdtempSync(join(tmpdir(), 'monitor-send-'));
  });
  after(async () => {
    rmSync(directory, { recursive: true, force: true });
    await running.stop();
  });

  it('delivers one message as the broker would, and exits 0', async () => {
    const client = running.client('job-send');
    await client.opened;
    const zeromq = `127.0.0.1:${running.endpoints.zeromq.port}`;
    const sent = await runCli([
      'send',
      '--zeromq',
      zeromq,
      'job-send',
      'TASK',
      'compile',
      'FAILED',
    ]);
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(await client.waitForMessages(1), [
      '{"command": "TASK", "task_id": "compile", "task_state": "FAILED"}',
    ]);
    const finished = await runCli(['send', '--zeromq', zeromq, 'job-send', 'FINISHED']);
    assert.equal(finished.code, 0, finished.stderr);
    assert.equal((await withTimeout(client.closed)).code, 1000);
    assert.deepEqual(client.commands(), ['TASK', 'FINISHED']);
  });

  it('finds the monitor through zeromq_uri of -c', async () => {
    const config = join(directory, 'config.yml');
    writeFileSync(config, `zeromq_uri: ["0.0.0.0", ${running.endpoints.zeromq.port}]\n`);
    const client = running.client('job-config');
    await client.opened;
    const sent = await runCli(['send', '-c', config, 'job-config', 'STARTED']);
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(await client.waitForMessages(1), ['{"command": "STARTED"}']);
  });

  it('exits 1 with a clear message when no monitor answers in time', async () => {
    const port = await unusedPort();
    const result = await runCli([
      'send',
      '--zeromq',
      `127.0.0.1:${port}`,
      '--timeout',
      '300',
      'j',
      'X',
    ]);
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `recodex-monitor send: no monitor answered at tcp://127.0.0.1:${port} within 300 ms ` +
        '(is it running, and is that its zeromq_uri?)\n',
    );
  });

  it('refuses a malformed address before sending anything', async () => {
    const result = await runCli(['send', '--zeromq', 'localhost', 'j', 'X']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /expected HOST:PORT, like 127\.0\.0\.1:7894, got "localhost"/);
  });
});
