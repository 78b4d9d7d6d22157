/**
 * The monitor as its real clients see it: headless Chromium runs a page that does what the web
 * app's progress dialog does, against a running monitor fed over ZeroMQ the way the broker
 * feeds it. Plain ws:// first, then wss:// with a certificate made for the test.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { FakeBroker } from '../helpers/broker';
import {
  ARTIFACTS,
  browserTestsSkipped,
  launchChromium,
  PageServer,
  type PageView,
  ProgressPage,
} from '../helpers/browser';
import type { MemoryLogger } from '../helpers/memory-logger';
import { type RunningMonitor, startMonitor } from '../helpers/running-monitor';
import { makeTestCertificate, type TestCertificate } from '../helpers/tls-cert';
import { withTimeout } from '../helpers/ws-client';

/** One evaluation as a worker reports it through the broker. */
const JOB: readonly (readonly string[])[] = [
  ['DOWNLOADED'],
  ['STARTED'],
  ['TASK', 'fetch_sources', 'COMPLETED'],
  ['TASK', 'compile', 'COMPLETED'],
  ['TASK', 'test01_execute', 'COMPLETED'],
  ['TASK', 'test01_evaluate', 'FAILED'],
  ['TASK', 'test02_execute', 'SKIPPED'],
  ['TASK', 'test02_evaluate', 'SKIPPED'],
  ['TASK', 'test03_execute', 'COMPLETED'],
  ['TASK', 'test03_evaluate', 'COMPLETED'],
  ['ENDED'],
  ['UPLOADED'],
  ['FINISHED'],
];
const TASKS = JOB.filter((frames) => frames[0] === 'TASK').length;
/** Where a late page joins: after compile and test01_execute. */
const MIDWAY = 5;

/** What a page must show once it has seen `frames`. */
function expected(frames: readonly (readonly string[])[]) {
  const count = (state: string) => frames.filter((f) => f[0] === 'TASK' && f[2] === state).length;
  const percent = (n: number) => (100 * n) / TASKS;
  const [completed, skipped, failed] = [count('COMPLETED'), count('SKIPPED'), count('FAILED')];
  return {
    received: frames.length,
    completed,
    skipped,
    failed,
    bar: { completed: percent(completed), skipped: percent(skipped), failed: percent(failed) },
    messages: frames.filter((f) => f[0] === 'TASK' || f[0] === 'FINISHED').map((f) => f.join(' ')),
  };
}

function assertShows(view: PageView, frames: readonly (readonly string[])[]): void {
  const want = expected(frames);
  assert.deepEqual(
    {
      received: view.received,
      completed: view.completed,
      skipped: view.skipped,
      failed: view.failed,
      messages: view.messages,
    },
    {
      received: want.received,
      completed: want.completed,
      skipped: want.skipped,
      failed: want.failed,
      messages: want.messages,
    },
  );
  for (const segment of ['completed', 'skipped', 'failed'] as const) {
    const off = Math.abs(view.bar[segment] - want.bar[segment]);
    assert.ok(off < 0.01, `${segment} bar is ${view.bar[segment]}%, want ${want.bar[segment]}%`);
  }
}

/** The page finished the job, closed its socket and the server said 1000. */
async function assertFinished(page: ProgressPage): Promise<PageView> {
  await page.waitFor('state', 'finished');
  const view = await page.waitFor('socket', 'closed');
  assertShows(view, JOB);
  assert.equal(view.statusText, 'The evaluation has finished.');
  assert.equal(view.closeCode, 1000);
  return view;
}

async function play(broker: FakeBroker, channel: string, frames: readonly (readonly string[])[]) {
  for (const message of frames) await broker.send(channel, ...message);
}

/** Waits until `count` clients subscribed to `channel`, as the monitor's log says. */
async function subscribed(logger: MemoryLogger, channel: string, count: number): Promise<void> {
  const line = `subscribed to channel ${channel}`;
  const deadline = Date.now() + 30_000;
  while (logger.find('debug', line).filter((l) => l.endsWith(line)).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} clients ${line}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function screenshot(page: ProgressPage, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.page.screenshot({ path, fullPage: true });
  const png = readFileSync(path);
  assert.ok(png.subarray(0, 8).equals(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1')), `${path}`);
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

const skip = browserTestsSkipped();
const TEST = { timeout: 120_000 };

describe('the progress page in Chromium, over ws://', { skip }, () => {
  let browser: Browser;
  let pages: PageServer;
  let running: RunningMonitor;
  let context: BrowserContext;

  before(async () => {
    browser = await launchChromium();
    pages = await PageServer.start();
    running = await startMonitor();
  });
  after(async () => {
    await context?.close();
    await running?.stop();
    await pages?.close();
    await browser?.close();
  });

  const open = async (channel: string, url = running.url) => {
    context ??= await browser.newContext();
    return ProgressPage.open(context, pages.pageUrl(url, channel, TASKS));
  };

  it('shows a job it subscribed to before the job started, then closes', TEST, async () => {
    const page = await open('job-before');
    assert.equal((await page.waitFor('state', 'waiting')).socket, 'open');
    await subscribed(running.logger, 'job-before', 1);
    await play(running.broker, 'job-before', JOB);
    await assertFinished(page);
    await screenshot(page, 'progress-page-ws.png');
  });

  it(
    'replays what it missed to a page that subscribes midway, then shows the rest',
    TEST,
    async () => {
      // A plain client tells when the monitor has the first half.
      const witness = running.client('job-midway');
      await play(running.broker, 'job-midway', JOB.slice(0, MIDWAY));
      await witness.waitForMessages(MIDWAY, 30_000);
      const page = await open('job-midway');
      assertShows(await page.waitFor('received', String(MIDWAY)), JOB.slice(0, MIDWAY));
      assert.equal((await page.view()).state, 'waiting');
      await play(running.broker, 'job-midway', JOB.slice(MIDWAY));
      await assertFinished(page);
      await withTimeout(witness.closed, 30_000, 'the witness to be closed');
    },
  );

  it('shows the whole job on two pages watching one channel', TEST, async () => {
    const first = await open('job-shared');
    const second = await open('job-shared');
    await subscribed(running.logger, 'job-shared', 2);
    await play(running.broker, 'job-shared', JOB);
    await assertFinished(first);
    await assertFinished(second);
  });

  it('shows an error when the monitor cannot be reached', TEST, async () => {
    const page = await open('job-unreachable', `ws://127.0.0.1:${await closedPort()}/`);
    const view = await page.waitFor('state', 'error');
    assert.equal(view.statusText, 'The connection to the monitor failed.');
    assert.equal((await page.waitFor('socket', 'closed')).closeCode, 1006);
    assertShows(view, []);
  });
});

describe('the progress page in Chromium, over wss://', { skip }, () => {
  let certificate: TestCertificate;
  let browser: Browser;
  let pages: PageServer;
  let running: RunningMonitor;
  let context: BrowserContext;

  before(async () => {
    certificate = makeTestCertificate();
    // Trust exactly this key, as a browser trusts a real certificate; no blanket exception.
    browser = await launchChromium([
      `--ignore-certificate-errors-spki-list=${certificate.spkiSha256}`,
    ]);
    // An HTTPS page, as in production: such a page may not open ws://, only wss://.
    pages = await PageServer.start({
      cert: certificate.certPem,
      key: readFileSync(certificate.key),
    });
    running = await startMonitor({
      tls: { cert: certificate.cert, key: certificate.key, passphrase: undefined },
    });
    context = await browser.newContext();
  });
  after(async () => {
    await context?.close();
    await running?.stop();
    await pages?.close();
    await browser?.close();
    certificate?.remove();
  });

  it('shows a job from an HTTPS page, subscribed before and midway', TEST, async () => {
    assert.match(running.url, /^wss:\/\//);
    const early = await ProgressPage.open(context, pages.pageUrl(running.url, 'job-tls', TASKS));
    await subscribed(running.logger, 'job-tls', 1);
    await play(running.broker, 'job-tls', JOB.slice(0, MIDWAY));
    await early.waitFor('received', String(MIDWAY));
    const late = await ProgressPage.open(context, pages.pageUrl(running.url, 'job-tls', TASKS));
    assertShows(await late.waitFor('received', String(MIDWAY)), JOB.slice(0, MIDWAY));
    await play(running.broker, 'job-tls', JOB.slice(MIDWAY));
    await assertFinished(early);
    await assertFinished(late);
    await screenshot(late, 'progress-page-wss.png');
  });

  it(
    'shows an error where the certificate is not trusted, and the monitor serves on',
    TEST,
    async () => {
      const untrusting = await launchChromium();
      try {
        const plainPages = await PageServer.start();
        try {
          const context = await untrusting.newContext();
          const page = await ProgressPage.open(
            context,
            plainPages.pageUrl(running.url, 'job-untrusted', TASKS),
          );
          assert.equal((await page.waitFor('state', 'error')).socket, 'closed');
          await context.close();
        } finally {
          await plainPages.close();
        }
      } finally {
        await untrusting.close();
      }
      // The failed handshake cost the monitor nothing.
      const client = running.client('job-untrusted', { ca: certificate.certPem });
      await play(running.broker, 'job-untrusted', JOB);
      await client.waitForMessages(JOB.length, 30_000);
      assert.deepEqual((await withTimeout(client.closed, 30_000, 'the close')).code, 1000);
    },
  );
});
