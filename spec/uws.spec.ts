import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadUws } from '../src/uws';

describe('loadUws', () => {
  it('loads the native binary, not the pure-JS fallback', () => {
    const uws = loadUws();
    assert.equal(typeof uws.App, 'function');
    // Only the native build exports the listen-socket helpers as native functions.
    assert.match(Function.prototype.toString.call(uws.us_listen_socket_close), /\[native code\]/);
  });
});
