import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { demoJob } from '../../src/tools/demo';
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

  it('serves a page that draws the job progress from the WebSocket', async () => {
    const page = await get(`${base}/demo`);
    assert.equal(page.status, 200);
    assert.match(page.contentType, /^text\/html/);
    const script = /<script>([\s\S]*)<\/script>/.exec(page.body)?.[1];
    assert.ok(script !== undefined, 'the page has its script');

    // No browser here: the page runs against a minimal DOM, with real fetch and WebSockets.
    interface Element {
      textContent: string;
      style: { width: string };
      prepend(child: unknown): void;
    }
    const elements = new Map<string, Element>();
    const timers = new Set<NodeJS.Timeout>();
    const sockets: WebSocket[] = [];
    let stopped = false;
    const context = {
      document: {
        getElementById: (id: string) => {
          let element = elements.get(id);
          if (element === undefined) {
            element = { textContent: '', style: { width: '' }, prepend: () => undefined };
            elements.set(id, element);
          }
          return element;
        },
        createElement: () => ({ textContent: '' }),
      },
      location: { hostname: '127.0.0.1' },
      fetch: (path: string, init: RequestInit) => fetch(`${base}${path}`, init),
      WebSocket: class extends WebSocket {
        constructor(url: string) {
          super(url);
          sockets.push(this);
        }
      },
      setTimeout: (callback: () => void, ms: number) => {
        // Once the test is over, the page's retry loop ends here.
        if (stopped) return undefined;
        const timer = setTimeout(() => {
          timers.delete(timer);
          callback();
        }, ms);
        timers.add(timer);
        return timer;
      },
    };
    try {
      runInNewContext(script, context);
      await pollUntil(
        () => /^finished:/.test(elements.get('state')?.textContent ?? ''),
        'the page to see a job finish',
        15_000,
      );
      assert.equal(
        elements.get('state')?.textContent,
        'finished: 7 completed, 1 skipped, 1 failed',
      );
      assert.equal(elements.get('completed')?.style.width, `${(100 * 7) / 9}%`);
      assert.equal(elements.get('skipped')?.style.width, `${100 / 9}%`);
      assert.equal(elements.get('failed')?.style.width, `${100 / 9}%`);
      assert.match(elements.get('channel')?.textContent ?? '', /^demo-\d+-/);
    } finally {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.terminate();
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
