import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { parseWebSocketUrl, watch } from '../../src/tools/watch';
import { CliProcess, runCli } from '../helpers/cli-process';
import { unusedPort } from '../helpers/ports';
import { waitForMatch } from '../helpers/process';
import { startMonitor } from '../helpers/running-monitor';
import { withTimeout } from '../helpers/ws-client';

/** Collects what a stream receives. */
function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

describe('parseWebSocketUrl', () => {
  it('accepts ws:// and wss:// URLs only', () => {
    assert.equal(parseWebSocketUrl('ws://127.0.0.1:4567'), 'ws://127.0.0.1:4567/');
    assert.equal(parseWebSocketUrl('wss://monitor.example/ws'), 'wss://monitor.example/ws');
    for (const text of ['http://127.0.0.1:4567', '127.0.0.1:4567', '']) {
      assert.throws(() => parseWebSocketUrl(text), /expected a ws:\/\/ or wss:\/\/ URL/, text);
    }
  });
});

describe('watch', () => {
  it('prints each message with a timestamp and ends when the channel finishes', async () => {
    const running = await startMonitor();
    try {
      await running.broker.send('job-w', 'STARTED');
      await running.broker.send('job-w', 'TASK', 'compile', 'COMPLETED');
      await running.broker.send('job-w', 'FINISHED');
      const out = sink();
      const err = sink();
      const result = await watch({
        url: running.url,
        channel: 'job-w',
        out: out.stream,
        err: err.stream,
        now: () => new Date(2026, 11, 3, 15, 28, 8, 123),
      });
      assert.deepEqual(result, { finished: true, messages: 3 });
      assert.equal(
        out.text(),
        '[2026-12-03 15:28:08,123] {"command": "STARTED"}\n' +
          '[2026-12-03 15:28:08,123] {"command": "TASK", "task_id": "compile", "task_state": "COMPLETED"}\n' +
          '[2026-12-03 15:28:08,123] {"command": "FINISHED"}\n',
      );
      assert.match(err.text(), /channel job-w finished after 3 messages/);
    } finally {
      await running.stop();
    }
  });
});

describe('recodex-monitor watch', () => {
  it('follows a live channel and exits 0 after FINISHED', async () => {
    const running = await startMonitor();
    const command = new CliProcess([
      'watch',
      '--url',
      `ws://127.0.0.1:${running.endpoints.websocket.port}`,
      'job-live',
    ]);
    try {
      await command.waitForStderr(/watching channel job-live/);
      // Subscribed before the first message: everything from here on is live.
      await running.broker.send('job-live', 'STARTED');
      await waitForMatch(() => command.stdout, /"STARTED"/, 'the first message');
      await running.broker.send('job-live', 'FINISHED');
      const result = await withTimeout(command.exited, 10_000, 'watch to exit');
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 2);
      const stamp = String.raw`^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] `;
      assert.match(lines[0], new RegExp(`${stamp}\\{"command": "STARTED"\\}$`));
      assert.match(lines[1], new RegExp(`${stamp}\\{"command": "FINISHED"\\}$`));
    } finally {
      command.kill();
      await running.stop();
    }
  });

  it('exits 1 when the monitor goes away before the channel finishes', async () => {
    const running = await startMonitor();
    const command = new CliProcess(['watch', '--url', running.url, 'job-never']);
    try {
      await command.waitForStderr(/watching channel job-never/);
      await running.stop();
      const result = await withTimeout(command.exited, 10_000, 'watch to exit');
      assert.equal(result.code, 1);
      assert.match(result.stderr, /the connection closed with 1001 server shutting down/);
    } finally {
      command.kill();
    }
  });

  it('exits 1 when nothing listens', async () => {
    const port = await unusedPort();
    const result = await runCli(['watch', '--url', `ws://127.0.0.1:${port}`, 'job']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot watch ws://127.0.0.1:${port}/: .*ECONNREFUSED`));
  });
});
