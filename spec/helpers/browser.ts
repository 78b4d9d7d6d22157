/**
 * Headless Chromium (Debian's package, driven by playwright-core) and the progress page that
 * stands in for the web app's evaluation progress dialog.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The repository root, seen from dist/spec/helpers. */
const ROOT = resolve(__dirname, '..', '..', '..');
/** Screenshots and other test output; gitignored. */
export const ARTIFACTS = join(ROOT, 'spec-artifacts');
const PAGE_FILE = join(ROOT, 'spec', 'browser', 'progress-page.html');

// No sandbox: CI runs as root. The rest keeps Chromium from talking to anything but loopback.
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function inCi(): boolean {
  const ci = process.env.CI ?? '';
  return ci !== '' && ci !== 'false' && ci !== '0';
}

/**
 * Why the browser tests are skipped here, or false. In CI a missing Chromium is a failure
 * (`.ci/run` installs it), so there the tests run and fail at launch.
 */
export function browserTestsSkipped(): string | false {
  if (existsSync(CHROMIUM) || inCi()) return false;
  return `no Chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH (CI runs these tests)`;
}

export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: .ci/run installs it (apt-get install chromium), or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [...FLAGS, ...extraArgs],
  });
}

/** Serves the progress page on 127.0.0.1, over HTTPS when given a certificate. */
export class PageServer {
  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(tls?: { cert: Buffer; key: Buffer }): Promise<PageServer> {
    const page = readFileSync(PAGE_FILE);
    const handler: RequestListener = (request, response) => {
      if (request.url?.startsWith('/progress-page.html') === true) {
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end(page);
      } else {
        response.writeHead(404).end();
      }
    };
    const server = tls === undefined ? createHttpServer(handler) : createHttpsServer(tls, handler);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    return new PageServer(server, `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`);
  }

  pageUrl(monitorUrl: string, channel: string, tasks: number): string {
    const query = new URLSearchParams({ url: monitorUrl, channel, tasks: String(tasks) });
    return `${this.origin}/progress-page.html?${query.toString()}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((done) => this.server.close(() => done()));
  }
}

/** What the page shows. */
export interface PageView {
  /** connecting, waiting, finished or error. */
  readonly state: string;
  readonly statusText: string;
  /** connecting, open or closed. */
  readonly socket: string;
  readonly closeCode: number | undefined;
  /** Messages the page received, of any command. */
  readonly received: number;
  readonly completed: number;
  readonly skipped: number;
  readonly failed: number;
  /** Width of each progress bar segment, in percent of the bar. */
  readonly bar: { readonly completed: number; readonly skipped: number; readonly failed: number };
  /** The messages the page lists (TASK and FINISHED), as `COMMAND task_id task_state`. */
  readonly messages: readonly string[];
}

const WAIT_MS = 30_000;

export class ProgressPage {
  private constructor(readonly page: Page) {}

  static async open(context: BrowserContext, url: string): Promise<ProgressPage> {
    const page = await context.newPage();
    await page.goto(url, { timeout: WAIT_MS });
    return new ProgressPage(page);
  }

  /** Waits until the page's `data-<name>` attribute is `value`. */
  async waitFor(name: 'state' | 'socket' | 'received', value: string): Promise<PageView> {
    try {
      await this.page.waitForSelector(`body[data-${name}="${value}"]`, {
        state: 'attached',
        timeout: WAIT_MS,
      });
    } catch (error) {
      const view = await this.view();
      throw new Error(`page never had ${name} ${value}; it shows ${JSON.stringify(view)}`, {
        cause: error,
      });
    }
    return this.view();
  }

  async view(): Promise<PageView> {
    const body = this.page.locator('body');
    const data = async (name: string) => (await body.getAttribute(`data-${name}`)) ?? '';
    const count = async (id: string) => Number(await this.page.locator(`#${id}`).textContent());
    // The page sets only `width: N%` on each segment.
    const width = async (id: string) => {
      const style = (await this.page.locator(`#${id}`).getAttribute('style')) ?? '';
      return parseFloat(/width:\s*([\d.e+-]+)%/.exec(style)?.[1] ?? '0');
    };
    const closeCode = await data('close-code');
    return {
      state: await data('state'),
      statusText: (await this.page.locator('#status').textContent()) ?? '',
      socket: await data('socket'),
      closeCode: closeCode === '' ? undefined : Number(closeCode),
      received: Number(await data('received')),
      completed: await count('completed'),
      skipped: await count('skipped'),
      failed: await count('failed'),
      bar: {
        completed: await width('bar-completed'),
        skipped: await width('bar-skipped'),
        failed: await width('bar-failed'),
      },
      messages: await this.page.locator('#messages li').allTextContents(),
    };
  }
}
