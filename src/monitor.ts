/**
 * The composition root: builds every piece from a `Config`, wires the one path a message
 * takes (ZeroMQ frames -> parse -> channel -> WebSockets) and owns the shutdown order.
 * It also reads every piece's counters for the admin's health and metrics endpoints.
 */
import { performance } from 'node:perf_hooks';
import { asyncScheduler, map, type SchedulerLike, type Subscription } from 'rxjs';
import type { Router } from 'zeromq';
import { Channels } from './channels';
import type { Config, Endpoint } from './config';
import { HttpEndpoints, jsonReply, type Route } from './http-endpoints';
import { LogThrottle } from './log-throttle';
import type { Logger } from './logger';
import { parseFrames, type ParseDropCode, type Parsed } from './message';
import { healthReport, Metrics, type MonitorStats } from './metrics';
import { WsServer } from './ws-server';
import { ROUTING_ID, ZmqSource } from './zmq-source';

/** Every reason a broker message is not relayed: the `reason` label of the drop counter. */
export const DROP_REASONS = [
  'no_channel',
  'empty_channel',
  'no_command',
  'empty_command',
  'invalid_utf8',
  'oversized',
  'already_finished',
  'remote_exit_disabled',
] as const satisfies readonly (ParseDropCode | 'already_finished' | 'remote_exit_disabled')[];
export type DropReason = (typeof DROP_REASONS)[number];

export interface MonitorOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Time for channel lifecycles and log throttling; tests pass a virtual one. */
  readonly scheduler?: SchedulerLike;
  /** Tests pass a ZeroMQ socket that fails on purpose. */
  readonly zmqSocket?: Router;
  /** More GET routes on `metrics_uri`: the demo's page and its current job, nothing else. */
  readonly extraRoutes?: Readonly<Record<string, Route>>;
}

/** Where the monitor actually listens (ports resolved when the config said 0). */
export interface BoundEndpoints {
  readonly websocket: Endpoint;
  readonly zeromq: Endpoint;
  readonly metrics: Endpoint;
}

export class Monitor {
  private readonly channels: Channels;
  private readonly zmq: ZmqSource;
  private readonly ws: WsServer;
  private readonly metrics: Metrics;
  private readonly http: HttpEndpoints;
  private readonly dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<
    DropReason,
    number
  >;
  private startedAt = performance.now();
  /** Warnings about broker-side input: anyone reaching the broker's worker port can cause them. */
  private readonly dropWarnings: LogThrottle;
  private subscription: Subscription | undefined;
  private stopping: Promise<void> | undefined;
  private readonly stoppedCallbacks: ((failed: boolean) => void)[] = [];

  constructor(private readonly options: MonitorOptions) {
    const { config, logger } = options;
    const scheduler = options.scheduler ?? asyncScheduler;
    this.channels = new Channels({
      retentionMs: config.channelRetentionMs,
      failedGraceMs: config.failedGraceMs,
      idleTimeoutMs: config.channelIdleTimeoutMs,
      maxMessages: config.maxChannelMessages,
      maxChannels: config.maxChannels,
      logger,
      scheduler,
    });
    this.zmq = new ZmqSource({ logger, socket: options.zmqSocket });
    this.ws = new WsServer({
      endpoint: config.websocket,
      tls: config.tls,
      channels: this.channels,
      logger,
      idleTimeoutSeconds: config.websocketIdleTimeoutSeconds,
      maxBackpressure: config.maxBackpressure,
      maxConnections: config.maxConnections,
      allowedOrigins: config.allowedOrigins,
      scheduler,
    });
    this.dropWarnings = new LogThrottle((line) => logger.warning(line), {
      burst: 20,
      windowMs: 10_000,
      what: 'more dropped messages',
      scheduler,
    });
    this.metrics = new Metrics(() => this.stats());
    this.http = new HttpEndpoints({
      endpoint: config.metrics,
      logger,
      routes: {
        ...options.extraRoutes,
        '/health': () => {
          const health = healthReport(this.stats(), (performance.now() - this.startedAt) / 1000);
          return jsonReply(health.status === 'ok' ? '200 OK' : '503 Service Unavailable', health);
        },
        '/metrics': async () => ({
          status: '200 OK',
          contentType: this.metrics.contentType,
          body: await this.metrics.render(),
        }),
      },
    });
  }

  /** Binds both sides and starts relaying. */
  async start(): Promise<BoundEndpoints> {
    const { config, logger } = this.options;
    this.startedAt = performance.now();
    const websocket = await this.ws.listen();
    const zeromq = await this.zmq.bind(config.zeromq);
    const parseOptions = { routingId: ROUTING_ID, maxFrameBytes: config.maxFrameBytes };
    this.subscription = this.zmq.frames$
      .pipe(map((frames) => parseFrames(frames, parseOptions)))
      .subscribe({
        next: (parsed) => this.handle(parsed),
        error: (error: Error) => {
          logger.critical(`ZeroMQ receive keeps failing: ${error.message}; stopping`);
          void this.stop('the ZeroMQ socket is dead', true);
        },
        complete: () => {
          // Only stop() closes the socket; anything else leaves the monitor deaf.
          if (this.stopping === undefined) void this.stop('the ZeroMQ socket closed', true);
        },
      });
    // Last, so that a health check answering means everything else is up.
    const metrics = await this.http.listen();
    logger.info(
      `listening for WebSockets on ${websocket.host}:${websocket.port}, ` +
        `for the broker on tcp://${zeromq.host}:${zeromq.port}`,
    );
    if (config.tls !== undefined) {
      logger.info(`WebSockets are wss://, with the certificate in ${config.tls.cert}`);
    }
    logger.info(`health and metrics on http://${metrics.host}:${metrics.port}`);
    return { websocket, zeromq, metrics };
  }

  /** Open WebSocket connections. */
  get connectionCount(): number {
    return this.ws.connectionCount;
  }

  /** Channels held, finished ones included. */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Called once the monitor stopped; `failed` when it stopped because something broke. */
  onStopped(callback: (failed: boolean) => void): void {
    this.stoppedCallbacks.push(callback);
  }

  /** Stops in reverse order of start; safe to call more than once. */
  stop(reason = 'stop requested', failed = false): Promise<void> {
    this.stopping ??= this.shutdown(reason, failed);
    return this.stopping;
  }

  private async shutdown(reason: string, failed: boolean): Promise<void> {
    const { logger } = this.options;
    if (failed) logger.error(`shutting down: ${reason}`);
    else logger.info(`shutting down: ${reason}`);
    this.http.close();
    this.ws.close();
    this.subscription?.unsubscribe();
    this.zmq.close();
    this.channels.close();
    this.dropWarnings.close();
    this.metrics.close();
    for (const callback of this.stoppedCallbacks) callback(failed);
  }

  private handle(parsed: Parsed): void {
    const { logger, config } = this.options;
    switch (parsed.kind) {
      case 'progress': {
        const result = this.channels.publish(parsed);
        if (result === 'already-finished') {
          this.dropped.already_finished += 1;
          this.dropWarnings.log(
            `dropped ${parsed.command} for channel ${parsed.channel}: the channel already finished`,
          );
        } else if (logger.isLevelEnabled('debug')) {
          logger.debug(`channel ${parsed.channel}: ${parsed.json}`);
        }
        return;
      }
      case 'exit':
        if (config.allowRemoteExit) {
          void this.stop('exit command from the broker side');
        } else {
          this.dropped.remote_exit_disabled += 1;
          this.dropWarnings.log('dropped the exit command: allow_remote_exit is off');
        }
        return;
      case 'dropped': {
        this.dropped[parsed.code] += 1;
        const channel = parsed.channel === undefined ? '' : ` for channel ${parsed.channel}`;
        this.dropWarnings.log(`dropped a message${channel}: ${parsed.reason}`);
        return;
      }
    }
  }

  private stats(): MonitorStats {
    const ws = this.ws.stats;
    const zmq = this.zmq.stats;
    return {
      connectionsOpen: this.ws.connectionCount,
      connectionsTotal: ws.connectionsTotal,
      channelsLive: this.channels.liveCount,
      channelsFinished: this.channels.finishedCount,
      messagesReceived: zmq.received,
      messagesDelivered: ws.delivered,
      messagesDropped: this.dropped,
      bytesSent: ws.bytesSent,
      backpressureCloses: ws.backpressureCloses,
      zeromqReceiveErrors: zmq.receiveErrors,
      zeromqBound: this.zmq.bound,
    };
  }
}
