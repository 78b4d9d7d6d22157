/** The `tls` key of the config: its shape, and its files checked when the file is loaded. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, DEFAULT_CONFIG, loadConfigFile, parseConfig } from '../src/config';
import { makeTestCertificate, type TestCertificate } from './helpers/tls-cert';

describe('parseConfig: tls', () => {
  const parse = (tls: unknown) => parseConfig({ tls }, 'monitor.yml');
  const rejects = (tls: unknown, message: RegExp) =>
    assert.throws(
      () => parse(tls),
      (error: Error) => error instanceof ConfigError && message.test(error.message),
    );

  it('is off by default, and when empty', () => {
    assert.equal(DEFAULT_CONFIG.tls, undefined);
    assert.equal(parseConfig({}, 'monitor.yml').config.tls, undefined);
    assert.equal(parse(null).config.tls, undefined);
  });

  it('reads the certificate, the key and the optional passphrase', () => {
    assert.deepEqual(parse({ cert: '/etc/ssl/m.pem', key: '/etc/ssl/m.key' }).config.tls, {
      cert: '/etc/ssl/m.pem',
      key: '/etc/ssl/m.key',
      passphrase: undefined,
    });
    assert.equal(
      parse({ cert: 'c', key: 'k', passphrase: 's3cret' }).config.tls?.passphrase,
      's3cret',
    );
  });

  it('names the key that is missing or of the wrong kind', () => {
    rejects(['c', 'k'], /^config monitor\.yml: tls: must be a mapping/);
    rejects({ key: 'k' }, /^config monitor\.yml: tls\.cert: must be a file path, got nothing$/);
    rejects({ cert: 'c', key: '' }, /^config monitor\.yml: tls\.key: must be a file path, got ""$/);
    rejects({ cert: 'c', key: 7 }, /^config monitor\.yml: tls\.key: must be a file path, got 7$/);
  });

  it('does not repeat a passphrase of the wrong kind', () => {
    rejects(
      { cert: 'c', key: 'k', passphrase: 271828 },
      /^config monitor\.yml: tls\.passphrase: must be a string \(quote it in YAML\)$/,
    );
    assert.throws(
      () => parse({ cert: 'c', key: 'k', passphrase: 271828 }),
      (e: Error) => !e.message.includes('271828'),
    );
  });

  it('warns about unknown keys under tls', () => {
    assert.deepEqual(parse({ cert: 'c', key: 'k', ca: 'x' }).warnings, [
      'config monitor.yml: unknown key tls.ca is ignored',
    ]);
  });
});

describe('loadConfigFile: tls files', () => {
  let tc: TestCertificate;
  before(() => {
    tc = makeTestCertificate();
  });
  after(() => tc.remove());

  /** Writes a config with this `tls` block and returns its path. */
  function configFile(name: string, tls: string): string {
    const path = join(tc.dir, name);
    writeFileSync(path, `websocket_uri: ["127.0.0.1", 0]\ntls:\n${tls}`);
    return path;
  }

  const rejects = (path: string, message: string, mentions = '') =>
    assert.throws(
      () => loadConfigFile(path),
      (error: Error) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.ok(error.message.startsWith(`config ${path}: ${message}`), error.message);
        assert.ok(error.message.includes(mentions), error.message);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );

  it('loads a config whose certificate and key match', () => {
    const path = configFile(
      'good.yml',
      `  cert: ${tc.cert}\n  key: ${tc.encryptedKey}\n  passphrase: "${tc.passphrase}"\n`,
    );
    assert.deepEqual(loadConfigFile(path).config.tls, {
      cert: tc.cert,
      key: tc.encryptedKey,
      passphrase: tc.passphrase,
    });
  });

  it('stops at a missing file, naming the config file, the key and the missing file', () => {
    const absent = join(tc.dir, 'absent.pem');
    const missingCert = configFile('missing.yml', `  cert: ${absent}\n  key: ${tc.key}\n`);
    rejects(missingCert, 'tls.cert: cannot read: ENOENT', absent);
    const missingKey = configFile('missing-key.yml', `  cert: ${tc.cert}\n  key: ${absent}\n`);
    rejects(missingKey, 'tls.key: cannot read: ENOENT', absent);
  });

  it('stops at a mismatched pair', () => {
    rejects(
      configFile('mismatch.yml', `  cert: ${tc.cert}\n  key: ${tc.otherKey}\n`),
      `tls.key: ${tc.otherKey} is not the key of the certificate in ${tc.cert}`,
    );
  });

  it('stops at a wrong or missing passphrase', () => {
    rejects(
      configFile(
        'bad-pass.yml',
        `  cert: ${tc.cert}\n  key: ${tc.encryptedKey}\n  passphrase: nope\n`,
      ),
      `tls.passphrase: does not decrypt ${tc.encryptedKey}`,
    );
    rejects(
      configFile('no-pass.yml', `  cert: ${tc.cert}\n  key: ${tc.encryptedKey}\n`),
      `tls.passphrase: missing, and ${tc.encryptedKey} is encrypted`,
    );
  });
});
