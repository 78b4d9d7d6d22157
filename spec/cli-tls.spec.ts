/** The built `recodex-monitor` command with a `tls` config: exit 78 on bad files, wss:// on good. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeBroker } from './helpers/broker';
import { CliProcess, runCli } from './helpers/cli-process';
import { makeTestCertificate, type TestCertificate } from './helpers/tls-cert';
import { RecordingClient, withTimeout } from './helpers/ws-client';

const WAIT_MS = 30_000;
const LISTENING =
  /listening for WebSockets on 127\.0\.0\.1:(\d+), for the broker on tcp:\/\/127\.0\.0\.1:(\d+)\n.*WebSockets are wss:\/\//;

describe('recodex-monitor -c FILE with tls', () => {
  let tc: TestCertificate;
  before(() => {
    tc = makeTestCertificate();
  });
  after(() => tc.remove());

  function configFile(name: string, tls: Record<string, string>): string {
    const path = join(tc.dir, name);
    const lines = Object.entries(tls).map(([key, value]) => `  ${key}: ${JSON.stringify(value)}`);
    const ports = [
      'websocket_uri: ["127.0.0.1", 0]',
      'zeromq_uri: ["127.0.0.1", 0]',
      'metrics_uri: ["127.0.0.1", 0]',
    ];
    writeFileSync(path, [...ports, 'tls:', ...lines, ''].join('\n'));
    return path;
  }

  /** Runs the CLI to its exit and checks it is 78 with one line naming the file and `key`. */
  async function stopsWith78(config: string, key: string, mentions: string): Promise<void> {
    const result = await withTimeout(runCli(['-c', config]), WAIT_MS, 'the CLI to exit');
    assert.equal(result.code, 78, result.stderr);
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.ok(lines[0].startsWith(`recodex-monitor: config ${config}: ${key}: `), lines[0]);
    assert.ok(lines[0].includes(mentions), lines[0]);
    assert.equal(result.stdout, '');
  }

  it('exits 78 when the certificate file is missing', async () => {
    const absent = join(tc.dir, 'absent.pem');
    await stopsWith78(configFile('missing.yml', { cert: absent, key: tc.key }), 'tls.cert', absent);
  });

  it('exits 78 when the key is not the certificate’s', async () => {
    const config = configFile('mismatch.yml', { cert: tc.cert, key: tc.otherKey });
    await stopsWith78(config, 'tls.key', `${tc.otherKey} is not the key of the certificate`);
  });

  it('exits 78 when the passphrase is wrong', async () => {
    const config = configFile('bad-pass.yml', {
      cert: tc.cert,
      key: tc.encryptedKey,
      passphrase: 'not it',
    });
    await stopsWith78(config, 'tls.passphrase', `does not decrypt ${tc.encryptedKey}`);
  });

  it('serves wss:// with a good pair and stops on SIGTERM', { timeout: 120_000 }, async () => {
    const config = configFile('good.yml', {
      cert: tc.cert,
      key: tc.encryptedKey,
      passphrase: tc.passphrase,
    });
    const cli = new CliProcess(['-c', config]);
    let broker: FakeBroker | undefined;
    try {
      const [, wsPort, zmqPort] = await cli.waitForStderr(LISTENING, WAIT_MS);
      broker = new FakeBroker(Number(zmqPort));
      const client = new RecordingClient(`wss://127.0.0.1:${wsPort}/`, 'cli-job', {
        ca: tc.certPem,
      });
      await withTimeout(client.opened, WAIT_MS, 'the TLS handshake');
      await broker.send('cli-job', 'FINISHED');
      assert.deepEqual(await client.waitForMessages(1, WAIT_MS), ['{"command": "FINISHED"}']);
      assert.equal((await withTimeout(client.closed, WAIT_MS, 'the close')).code, 1000);
    } finally {
      broker?.close();
      cli.kill('SIGTERM');
    }
    const result = await withTimeout(cli.exited, WAIT_MS, 'the monitor to exit');
    assert.equal(result.code, 0, result.stderr);
  });
});
