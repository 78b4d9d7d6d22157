/** A throw-away certificate for 127.0.0.1, made with openssl in a temp dir. */
import { createHash, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificate {
  readonly dir: string;
  /** PEM certificate for CN and subjectAltName IP 127.0.0.1. */
  readonly cert: string;
  /** Its unencrypted key. */
  readonly key: string;
  /** The same key encrypted with `passphrase`. */
  readonly encryptedKey: string;
  readonly passphrase: string;
  /** A key that belongs to no certificate here. */
  readonly otherKey: string;
  /** The certificate's contents, for a client's `ca`. */
  readonly certPem: Buffer;
  /** Base64 SHA-256 of the public key, for Chromium's --ignore-certificate-errors-spki-list. */
  readonly spkiSha256: string;
  remove(): void;
}

export function makeTestCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'recodex-monitor-tls-'));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  const passphrase = 'correct horse battery staple';
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('key.pem'),
    '-out',
    file('cert.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  );
  openssl(
    'pkey',
    '-in',
    file('key.pem'),
    '-aes256',
    '-passout',
    `pass:${passphrase}`,
    '-out',
    file('encrypted-key.pem'),
  );
  openssl(
    'genpkey',
    '-algorithm',
    'EC',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-out',
    file('other-key.pem'),
  );
  const certPem = readFileSync(file('cert.pem'));
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return {
    dir,
    cert: file('cert.pem'),
    key: file('key.pem'),
    encryptedKey: file('encrypted-key.pem'),
    passphrase,
    otherKey: file('other-key.pem'),
    certPem,
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
