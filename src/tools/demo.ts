/**
 * `recodex-monitor demo`: a monitor plus a simulated broker that plays a realistic job on a
 * fresh channel every few seconds, and a page on `metrics_uri` that follows it like the web
 * app does. For trying the monitor, and showing it, without ReCodEx.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../config';
import { jsonReply, type Reply } from '../http-endpoints';
import type { Logger } from '../logger';
import { type BoundEndpoints, Monitor } from '../monitor';
import { DEMO_PAGE } from './demo-page';
import { BrokerLink, connectHost } from './send';

export interface DemoJob {
  readonly channel: string;
  /** TASK messages in the job: the web app's expected task count. */
  readonly tasks: number;
  /** Each message's frames after the routing id: `[channel, command, task_id?, state?]`. */
  readonly messages: readonly (readonly string[])[];
}

const TESTS = 4;

/**
 * Job number `index` as a worker reports it: compilation, then each test's run and judge.
 * One test per job fails to run, so its judge is skipped; which one changes with `index`.
 */
export function demoJob(index: number, channel: string): DemoJob {
  const failing = (index % TESTS) + 1;
  const tasks: [string, string][] = [['compilation', 'COMPLETED']];
  for (let test = 1; test <= TESTS; test++) {
    const name = `test${String(test).padStart(2, '0')}`;
    tasks.push([`${name}-run`, test === failing ? 'FAILED' : 'COMPLETED']);
    tasks.push([`${name}-judge`, test === failing ? 'SKIPPED' : 'COMPLETED']);
  }
  const messages = [
    [channel, 'DOWNLOADED'],
    [channel, 'STARTED'],
    ...tasks.map(([task, state]) => [channel, 'TASK', task, state]),
    [channel, 'ENDED'],
    [channel, 'UPLOADED'],
    [channel, 'FINISHED'],
  ];
  return { channel, tasks: tasks.length, messages };
}

export interface DemoOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Pause between two messages of a job. */
  readonly stepMs: number;
  /** Jobs to play before the demo ends by itself. */
  readonly jobs: number;
  /** Where the demo says what to open. */
  readonly out: NodeJS.WritableStream;
}

export const DEMO_PATH = '/demo';

export class Demo {
  private readonly monitor: Monitor;
  private readonly abort = new AbortController();
  private link: BrokerLink | undefined;
  private current: DemoJob | undefined;
  private websocketPort = 0;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: DemoOptions) {
    const page: Reply = {
      status: '200 OK',
      contentType: 'text/html; charset=utf-8',
      body: DEMO_PAGE,
    };
    this.monitor = new Monitor({
      config: options.config,
      logger: options.logger,
      extraRoutes: {
        [DEMO_PATH]: () => page,
        [`${DEMO_PATH}/job`]: () =>
          jsonReply('200 OK', {
            channel: this.current?.channel ?? null,
            tasks: this.current?.tasks ?? 0,
            websocketPort: this.websocketPort,
            websocketScheme: options.config.tls === undefined ? 'ws' : 'wss',
          }),
      },
    });
    this.monitor.onStopped(() => this.abort.abort());
  }

  /** Starts the monitor, then plays jobs; resolves when the jobs are played or on stop(). */
  async run(): Promise<BoundEndpoints> {
    const endpoints = await this.monitor.start();
    this.websocketPort = endpoints.websocket.port;
    const { websocket, zeromq, metrics } = endpoints;
    this.options.out.write(
      `recodex-monitor demo: open http://${metrics.host}:${metrics.port}${DEMO_PATH} in a browser\n` +
        `  WebSockets on port ${websocket.port} of ${websocket.host}, ` +
        `the simulated broker sends to tcp://${zeromq.host}:${zeromq.port}, ` +
        `health and metrics at http://${metrics.host}:${metrics.port}/health and /metrics\n`,
    );
    this.link = new BrokerLink({ host: connectHost(zeromq.host), port: zeromq.port });
    return endpoints;
  }

  /** Plays the jobs one after another; resolves when done or stopped. */
  async play(): Promise<void> {
    const { stepMs, jobs, logger } = this.options;
    const signal = this.abort.signal;
    try {
      for (let index = 0; index < jobs; index++) {
        const job = demoJob(index, `demo-${index + 1}-${randomBytes(4).toString('hex')}`);
        this.current = job;
        this.options.out.write(`playing job ${job.channel}\n`);
        for (const frames of job.messages) {
          await delay(stepMs, undefined, { signal });
          await this.link?.send(frames);
        }
        // Time to look at the finished bar before the next job starts.
        await delay(stepMs * 5, undefined, { signal });
      }
    } catch (error) {
      if (!signal.aborted) logger.error(`demo broker stopped: ${(error as Error).message}`);
    }
  }

  /** Stops the broker, then the monitor; safe to call more than once. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      this.link?.close();
      await this.monitor.stop(reason);
    })();
    return this.stopping;
  }
}
