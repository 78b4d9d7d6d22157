import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { demoJob } from '../../src/tools/demo';
import { ARTIFACTS, browserTestsSkipped, launchChromium } from '../helpers/browser';
import { CliProcess } from '../helpers/cli-process';
import { waitForMatch } from '../helpers/process';
import { pollUntil, get, sample } from '../helpers/http';
import { RecordingClient, withTimeout } from '../helpers/ws-client';

describe('demoJob', () => {
  it('plays a job as a worker reports it, ending with FINISHED', () => {
    const job = demoJob(0, 'demo-1');
    const commands = job.messages.map((frames) => frames[1]);
    assert.deepEqual(commands.slice(0, 2), ['DOWNLOADED', 'STARTED']);
    assert.deepEqual(commands.slice(-3), ['ENDED', 'UPLOADED', 'FINISHED']);
    assert.equal(commands.filter((c) => c === 'TASK').length, job.tasks);
    assert.ok(job.messages.every((frames) => frames[0] === 'demo-1'));
  });

  it('mixes the task states, and fails a different test from job to job', () => {
    const failing = new Set<string>();
    for (let index = 0; index < 8; index++) {
      const tasks = demoJob(index, 'c').messages.filter((frames) => frames[1] === 'TASK');
      const states = tasks.map((frames) => frames[3]);
      assert.equal(states.filter((s) => s === 'FAILED').length, 1);
      assert.equal(states.filter((s) => s === 'SKIPPED').length, 1);
      assert.equal(states.filter((s) => s === 'COMPLETED').length, tasks.length - 2);
      failing.add(tasks.find((frames) => frames[3] === 'FAILED')?.[2] ?? '');
    }
    assert.equal(failing.size, 4);
  });
});

const skip = browserTestsSkipped();

interface DemoJobInfo {
  channel: string | null;
  tasks: number;
  websocketPort: number;
}

describe('recodex-monitor demo', () => {
  let directory: string;
  let demo: CliProcess;
  let base: string;

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'monitor-demo-'));
    const config = join(directory, 'demo.yml');
    writeFileSync(
      config,
      [
        'websocket_uri: ["127.0.0.1", 0]',
        'zeromq_uri: ["127.0.0.1", 0]',
        'metrics_uri: ["127.0.0.1", 0]',
      ].join('\n'),
    );
    demo = new CliProcess(['demo', '-c', config, '--step-ms', '20']);
    const [, url] = await waitForMatch(
      () => demo.stdout,
      /open (http:\/\/127\.0\.0\.1:\d+)\/demo in a browser/,
      'the demo to say where its page is',
    );
    base = url;
  });
  after(() => {
    demo.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  });

  const currentJob = async (): Promise<DemoJobInfo> => {
    let job: DemoJobInfo = { channel: null, tasks: 0, websocketPort: 0 };
    await pollUntil(async () => {
      job = JSON.parse((await get(`${base}/demo/job`)).body) as DemoJobInfo;
      return job.channel !== null;
    }, 'the first demo job');
    return job;
  };

  it('relays whole jobs to a WebSocket client that subscribes like the web app', async () => {
    const job = await currentJob();
    assert.match(job.channel ?? '', /^demo-\d+-[0-9a-f]{8}$/);
    const client = new RecordingClient(`ws://127.0.0.1:${job.websocketPort}/`, job.channel ?? '');
    assert.equal((await withTimeout(client.closed, 15_000, 'the job to finish')).code, 1000);
    const commands = client.commands();
    assert.deepEqual(commands.slice(0, 2), ['DOWNLOADED', 'STARTED']);
    assert.equal(commands.at(-1), 'FINISHED');
    assert.equal(commands.filter((c) => c === 'TASK').length, job.tasks);

    const metrics = (await get(`${base}/metrics`)).body;
    assert.ok((sample(metrics, 'recodex_monitor_messages_delivered_total') ?? 0) >= 14);
    assert.ok(!metrics.includes(job.channel ?? ''), 'metrics name a channel');
    assert.equal((await get(`${base}/health`)).status, 200);
  });

  it('serves its page, which draws the job progress in Chromium', { skip }, async () => {
    const page = await get(`${base}/demo`);
    assert.equal(page.status, 200);
    assert.match(page.contentType, /^text\/html/);
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage();
      await tab.goto(`${base}/demo`, { timeout: 30_000 });
      // Read everything at once: the page moves on to the next job 1.5 s after FINISHED.
      const finished = await tab.waitForFunction(
        `(() => {
          const text = (id) => document.getElementById(id).textContent;
          const width = (id) => document.getElementById(id).style.width;
          if (!text('state').startsWith('finished:')) return false;
          return {
            state: text('state'),
            channel: text('channel'),
            log: document.getElementById('log').children.length,
            bar: [width('completed'), width('skipped'), width('failed')],
          };
        })()`,
        undefined,
        { timeout: 30_000 },
      );
      const view = (await finished.jsonValue()) as {
        state: string;
        channel: string;
        log: number;
        bar: string[];
      };
      assert.equal(view.state, 'finished: 7 completed, 1 skipped, 1 failed');
      assert.match(view.channel, /^demo-\d+-[0-9a-f]{8}$/);
      assert.equal(view.log, 14, 'every message of the job is listed');
      const percent = view.bar.map((width) => Math.round(parseFloat(width) * 100) / 100);
      assert.deepEqual(percent, [77.78, 11.11, 11.11]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await tab.screenshot({ path: join(ARTIFACTS, 'demo-page.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('stops on SIGTERM with exit code 0', async () => {
    demo.kill('SIGTERM');
    const result = await withTimeout(demo.exited, 10_000, 'the demo to exit');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /shutting down: received SIGTERM/);
    assert.match(result.stdout, /playing job demo-1-/);
  });
});
