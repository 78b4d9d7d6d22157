/** The WebSocket side served as wss:// by uWS' SSLApp, with real TLS clients. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CONFIG } from '../src/config';
import { TlsFileError } from '../src/tls-files';
import { WsServer } from '../src/ws-server';
import { memoryLogger } from './helpers/memory-logger';
import { type RunningMonitor, startMonitor } from './helpers/running-monitor';
import { makeTestCertificate, type TestCertificate } from './helpers/tls-cert';
import { RecordingClient, withTimeout } from './helpers/ws-client';

const WAIT_MS = 30_000;

describe('the monitor over wss://', () => {
  let tc: TestCertificate;
  let running: RunningMonitor;

  before(async () => {
    tc = makeTestCertificate();
    running = await startMonitor({
      tls: { cert: tc.cert, key: tc.key, passphrase: undefined },
    });
  });
  after(async () => {
    await running?.stop();
    tc?.remove();
  });

  it('says so when it starts', () => {
    assert.match(running.url, /^wss:\/\/127\.0\.0\.1:\d+\/$/);
    const port = running.endpoints.websocket.port;
    assert.equal(
      running.logger.find('info', `listening for WebSockets on 127.0.0.1:${port}`).length,
      1,
    );
    assert.deepEqual(running.logger.find('info', 'wss://'), [
      `WebSockets are wss://, with the certificate in ${tc.cert}`,
    ]);
  });

  it('relays history, then live messages, then closes with 1000, to a client that trusts it', async () => {
    await running.broker.send('tls-job', 'STARTED');
    const observer = running.client('tls-job', { ca: tc.certPem });
    await observer.waitForMessages(1, WAIT_MS);
    const late = running.client('tls-job', { ca: tc.certPem });
    await late.waitForMessages(1, WAIT_MS);
    await running.broker.send('tls-job', 'TASK', 'compile', 'COMPLETED');
    await running.broker.send('tls-job', 'FINISHED');
    for (const client of [observer, late]) {
      await client.waitForMessages(3, WAIT_MS);
      assert.deepEqual(client.messages, [
        '{"command": "STARTED"}',
        '{"command": "TASK", "task_id": "compile", "task_state": "COMPLETED"}',
        '{"command": "FINISHED"}',
      ]);
      assert.equal((await withTimeout(client.closed, WAIT_MS, 'the close')).code, 1000);
    }
  });

  it('fails the handshake of a client that does not trust it, and serves on', async () => {
    const untrusting = running.client('tls-refused');
    await assert.rejects(withTimeout(untrusting.opened, WAIT_MS, 'the handshake'), {
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    const plain = new RecordingClient(running.url.replace('wss:', 'ws:'), 'tls-refused');
    await assert.rejects(withTimeout(plain.opened, WAIT_MS, 'the plain handshake'));
    plain.socket.terminate();

    const trusting = running.client('tls-refused', { ca: tc.certPem });
    await running.broker.send('tls-refused', 'FINISHED');
    assert.deepEqual(await trusting.waitForMessages(1, WAIT_MS), ['{"command": "FINISHED"}']);
  });
});

describe('the monitor over wss:// with an encrypted key', () => {
  let tc: TestCertificate;
  let running: RunningMonitor;

  before(async () => {
    tc = makeTestCertificate();
    running = await startMonitor({
      tls: { cert: tc.cert, key: tc.encryptedKey, passphrase: tc.passphrase },
    });
  });
  after(async () => {
    await running?.stop();
    tc?.remove();
  });

  it('decrypts the key with the passphrase and serves', async () => {
    const client = running.client('tls-encrypted', { ca: tc.certPem });
    await running.broker.send('tls-encrypted', 'FINISHED');
    assert.deepEqual(await client.waitForMessages(1, WAIT_MS), ['{"command": "FINISHED"}']);
    assert.equal((await withTimeout(client.closed, WAIT_MS, 'the close')).code, 1000);
  });
});

describe('WsServer given TLS files that were not checked by the config loader', () => {
  it('checks them itself instead of letting uWS fail with "App construction failed"', () => {
    const tc = makeTestCertificate();
    try {
      assert.throws(
        () =>
          new WsServer({
            endpoint: DEFAULT_CONFIG.websocket,
            tls: { cert: tc.cert, key: tc.otherKey, passphrase: undefined },
            channels: { watch: () => undefined, unwatch: () => undefined },
            logger: memoryLogger(),
          }),
        (error: Error) =>
          error instanceof TlsFileError &&
          error.key === 'tls.key' &&
          error.message.includes('is not the key of the certificate'),
      );
    } finally {
      tc.remove();
    }
  });
});
