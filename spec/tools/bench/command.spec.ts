/** `recodex-monitor bench` as an admin runs it: the built binary, its options and exit code. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { Router } from 'zeromq';

const CLI = join(__dirname, '..', '..', '..', 'src', 'cli.js');

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('recodex-monitor bench', { timeout: 60_000 }, () => {
  it('refuses options that do not go together, naming them', async () => {
    const result = await run(['bench', '--url', 'ws://127.0.0.1:4567/']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--url and --zeromq go together/);
    const rates = await run(['bench', '--rates', '1000,fast']);
    assert.equal(rates.code, 1);
    assert.match(rates.stderr, /--rates must be positive whole numbers/);
  });

  describe('against a target that loses every message', () => {
    const router = new Router({ routingId: 'recodex-monitor', linger: 0 });
    let wss: WebSocketServer;

    before(async () => {
      await router.bind('tcp://127.0.0.1:*');
      // Every message is dropped on purpose; the loop ends when the socket closes.
      void (async () => {
        for (;;) await router.receive();
      })().catch(() => undefined);
      wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      await new Promise((resolve) => wss.once('listening', resolve));
      wss.on('connection', (socket) => socket.once('message', () => socket.close(1000)));
    });
    after(async () => {
      router.close();
      await new Promise((resolve) => wss.close(resolve));
    });

    it('prints the table, lists the problems and exits with 1', async () => {
      const { port } = wss.address() as { port: number };
      const result = await run([
        'bench',
        '--url',
        `ws://127.0.0.1:${port}/`,
        '--zeromq',
        router.lastEndpoint as string,
        '--scenarios',
        'throughput',
        '--channels',
        '1',
        '--messages',
        '3',
        '--repeat',
        '1',
        '--no-floor',
        '--out',
        '',
      ]);
      assert.equal(result.code, 1, result.stderr);
      // Two subscribers in the warm-up, two in the measured run.
      assert.match(result.stdout, /throughput +CPU per delivery +n\/a/);
      assert.match(result.stderr, /FAILED: 4 problem\(s\)/);
      assert.match(result.stderr, /closed with 1000 after 0 of 3 messages/);
    });
  });
});
