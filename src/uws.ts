/**
 * Loads uWebSockets.js' native binary directly.
 *
 * The package's own entry point silently falls back to a pure-JS shim when no binary matches
 * the running Node.js, and on that shim the `/*` route never matches: the monitor would run
 * and serve nobody. We load the binary ourselves and refuse to start without it.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Endpoint } from './config';

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

/** An app's listening socket: `open()` binds it, `close()` stops accepting. */
export class ListenSocket {
  private socket: us_listen_socket | undefined;

  /** `what` names the service in the error, e.g. "WebSockets". */
  constructor(
    private readonly uws: Uws,
    private readonly app: TemplatedApp,
    private readonly what: string,
  ) {}

  /** Binds the endpoint; port 0 picks a free port. Resolves with the bound endpoint. */
  open({ host, port }: Endpoint): Promise<Endpoint> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen for ${this.what} on ${host}:${port}`));
          return;
        }
        this.socket = socket;
        resolve({ host, port: this.uws.us_socket_local_port(socket) });
      });
    });
  }

  close(): void {
    if (this.socket !== undefined) {
      this.uws.us_listen_socket_close(this.socket);
      this.socket = undefined;
    }
  }
}
