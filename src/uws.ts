/**
 * Loads uWebSockets.js' native binary directly.
 *
 * The package's own entry point silently falls back to a pure-JS shim when no binary matches
 * the running Node.js, and on that shim the `/*` route never matches: the monitor would run
 * and serve nobody. We load the binary ourselves and refuse to start without it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const loadNative = createRequire(__filename);

export type Uws = typeof import('uWebSockets.js');

/** The running Node.js cannot load uWebSockets.js' native binary. */
export class UnsupportedRuntimeError extends Error {
  override readonly name = 'UnsupportedRuntimeError';
}

/** `abi` is the running Node.js' module ABI; tests pass another to see the refusal. */
export function loadUws(abi = process.versions.modules): Uws {
  const { platform, arch } = process;
  const root = dirname(require.resolve('uWebSockets.js/package.json'));
  const binary = join(root, 'binaries', `uws_${platform}_${arch}_${abi}.node`);
  try {
    // Through require's cache: initialising the native module twice crashes at exit.
    return loadNative(binary) as Uws;
  } catch (error) {
    throw new UnsupportedRuntimeError(
      `uWebSockets.js has no native build for Node.js ${process.version} on ${platform}-${arch} ` +
        `(module ABI ${abi}); use Node.js 18 or 20 (${(error as Error).message.split('\n')[0]})`,
    );
  }
}
