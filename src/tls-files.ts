/**
 * Checks the certificate and key that `wss://` will be served with, before uWebSockets.js sees
 * them: its SSLApp only says "App construction failed" whatever the problem, and for an
 * encrypted key without a passphrase OpenSSL would prompt on the terminal.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

/** PEM files as uWebSockets.js' SSLApp reads them. */
export interface TlsFiles {
  /** The certificate, optionally followed by its intermediate certificates. */
  readonly cert: string;
  readonly key: string;
  /** Decrypts an encrypted key. */
  readonly passphrase: string | undefined;
}

export type TlsKey = 'tls.cert' | 'tls.key' | 'tls.passphrase';

/** A TLS file that cannot be used; `key` is the config key to fix. */
export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';

  constructor(
    readonly key: TlsKey,
    message: string,
  ) {
    super(message);
  }
}

/** Throws `TlsFileError` unless the files are readable and the key belongs to the certificate. */
export function checkTlsFiles(files: TlsFiles): void {
  const certPem = read(files.cert, 'tls.cert');
  const keyPem = read(files.key, 'tls.key');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (error) {
    throw new TlsFileError('tls.cert', `${files.cert} holds no PEM certificate (${reason(error)})`);
  }
  const key = privateKey(files, keyPem);
  if (!cert.checkPrivateKey(key)) {
    throw new TlsFileError(
      'tls.key',
      `${files.key} is not the key of the certificate in ${files.cert}`,
    );
  }
  // What uWS does next: load the whole chain into one context. Catches a broken intermediate.
  try {
    createSecureContext({ cert: certPem, key: keyPem, passphrase: files.passphrase });
  } catch (error) {
    throw new TlsFileError('tls.cert', `${files.cert} cannot be used: ${reason(error)}`);
  }
}

function read(file: string, key: TlsKey): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new TlsFileError(key, `cannot read: ${reason(error)}`);
  }
}

function privateKey(files: TlsFiles, pem: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase: files.passphrase });
  } catch (error) {
    // Both PEM forms of an encrypted key say so in their header.
    if (!pem.includes('ENCRYPTED')) {
      throw new TlsFileError('tls.key', `${files.key} holds no PEM private key (${reason(error)})`);
    }
    if (files.passphrase === undefined) {
      throw new TlsFileError('tls.passphrase', `missing, and ${files.key} is encrypted`);
    }
    throw new TlsFileError('tls.passphrase', `does not decrypt ${files.key}`);
  }
}

function reason(error: unknown): string {
  return (error as Error).message;
}
