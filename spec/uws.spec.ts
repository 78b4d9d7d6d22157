import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { loadUws, UnsupportedRuntimeError } from '../src/uws';

describe('loadUws', () => {
  it('loads the native binary, not the pure-JS fallback', () => {
    const uws = loadUws();
    assert.equal(typeof uws.App, 'function');
    // Only the native build exports the listen-socket helpers as native functions.
    assert.match(Function.prototype.toString.call(uws.us_listen_socket_close), /\[native code\]/);
  });
});

describe('loadUws, called again', () => {
  it('returns the module it opened before', () => {
    assert.equal(loadUws(), loadUws());
  });

  it('lets a process that made several apps exit cleanly', () => {
    // Opening the binary anew per call used to crash such a process on exit (SIGSEGV).
    const script =
      `const { loadUws } = require(${JSON.stringify(require.resolve('../src/uws'))});` +
      'for (let i = 0; i < 4; i++) loadUws().App();';
    const child = spawnSync(process.execPath, ['-e', script], { timeout: 60_000 });
    assert.deepEqual({ status: child.status, signal: child.signal }, { status: 0, signal: null });
  });
});

describe('loadUws on a Node.js without a native build', () => {
  it('refuses with a message that says what to do, instead of using the shim', () => {
    assert.throws(
      () => loadUws('999'),
      (error: Error) =>
        error instanceof UnsupportedRuntimeError &&
        /no native build .* \(module ABI 999\); use Node\.js 18 or 20/.test(error.message),
    );
  });
});
