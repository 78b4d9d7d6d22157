import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkTlsFiles, type TlsFiles, TlsFileError, type TlsKey } from '../src/tls-files';
import { makeTestCertificate, type TestCertificate } from './helpers/tls-cert';

describe('checkTlsFiles', () => {
  let tc: TestCertificate;
  before(() => {
    tc = makeTestCertificate();
  });
  after(() => tc.remove());

  const files = (overrides: Partial<TlsFiles>): TlsFiles => ({
    cert: tc.cert,
    key: tc.key,
    passphrase: undefined,
    ...overrides,
  });

  function rejects(given: Partial<TlsFiles>, key: TlsKey, message: RegExp): void {
    assert.throws(
      () => checkTlsFiles(files(given)),
      (error: Error) => {
        assert.ok(error instanceof TlsFileError, String(error));
        assert.equal(error.key, key);
        assert.match(error.message, message);
        return true;
      },
    );
  }

  it('accepts a certificate with its key', () => {
    assert.doesNotThrow(() => checkTlsFiles(files({})));
  });

  it('accepts an encrypted key with its passphrase', () => {
    assert.doesNotThrow(() =>
      checkTlsFiles(files({ key: tc.encryptedKey, passphrase: tc.passphrase })),
    );
  });

  it('names the certificate or the key that cannot be read', () => {
    rejects({ cert: join(tc.dir, 'absent.pem') }, 'tls.cert', /cannot read: ENOENT.*absent\.pem/);
    rejects({ key: join(tc.dir, 'absent.pem') }, 'tls.key', /cannot read: ENOENT.*absent\.pem/);
    rejects({ key: tc.dir }, 'tls.key', /cannot read: EISDIR/);
  });

  it('refuses files that are not what they should be', () => {
    rejects({ cert: tc.key }, 'tls.cert', /key\.pem holds no PEM certificate/);
    rejects({ key: tc.cert }, 'tls.key', /cert\.pem holds no PEM private key/);
  });

  it('refuses a key that does not belong to the certificate', () => {
    rejects(
      { key: tc.otherKey },
      'tls.key',
      /other-key\.pem is not the key of the certificate in .*cert\.pem$/,
    );
  });

  it('asks for the passphrase of an encrypted key instead of prompting for it', () => {
    rejects(
      { key: tc.encryptedKey },
      'tls.passphrase',
      /missing, and .*encrypted-key\.pem is encrypted/,
    );
  });

  it('refuses a wrong passphrase without repeating it', () => {
    rejects(
      { key: tc.encryptedKey, passphrase: 'wrong guess' },
      'tls.passphrase',
      /^does not decrypt .*encrypted-key\.pem$/,
    );
  });

  it('refuses a certificate chain with a broken certificate after the first', () => {
    const chain = join(tc.dir, 'broken-chain.pem');
    const pem = tc.certPem.toString();
    // A second certificate block whose base64 body is garbage.
    writeFileSync(
      chain,
      `${pem}-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n`,
    );
    rejects({ cert: chain }, 'tls.cert', /broken-chain\.pem cannot be used/);
  });
});
