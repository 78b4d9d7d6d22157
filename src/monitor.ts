/**
 * The composition root: builds every piece from a `Config`, wires the one path a message
 * takes (ZeroMQ frames -> parse -> channel -> WebSockets) and owns the shutdown order.
 */
import { asyncScheduler, map, type SchedulerLike, type Subscription } from 'rxjs';
import type { Router } from 'zeromq';
import { Channels } from './channels';
import type { Config, Endpoint } from './config';
import { LogThrottle } from './log-throttle';
import type { Logger } from './logger';
import { parseFrames, type Parsed } from './message';
import { WsServer } from './ws-server';
import { ROUTING_ID, ZmqSource } from './zmq-source';

export interface MonitorOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Time for channel lifecycles and log throttling; tests pass a virtual one. */
  readonly scheduler?: SchedulerLike;
  /** Tests pass a ZeroMQ socket that fails on purpose. */
  readonly zmqSocket?: Router;
}

/** Where the monitor actually listens (ports resolved when the config said 0). */
export interface BoundEndpoints {
  readonly websocket: Endpoint;
  readonly zeromq: Endpoint;
}

export class Monitor {
  private readonly channels: Channels;
  private readonly zmq: ZmqSource;
  private readonly ws: WsServer;
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
  }

  /** Binds both sides and starts relaying. */
  async start(): Promise<BoundEndpoints> {
    const { config, logger } = this.options;
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
    logger.info(
      `listening for WebSockets on ${websocket.host}:${websocket.port}, ` +
        `for the broker on tcp://${zeromq.host}:${zeromq.port}`,
    );
    if (config.tls !== undefined) {
      logger.info(`WebSockets are wss://, with the certificate in ${config.tls.cert}`);
    }
    return { websocket, zeromq };
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
    this.ws.close();
    this.subscription?.unsubscribe();
    this.zmq.close();
    this.channels.close();
    this.dropWarnings.close();
    for (const callback of this.stoppedCallbacks) callback(failed);
  }

  private handle(parsed: Parsed): void {
    const { logger, config } = this.options;
    switch (parsed.kind) {
      case 'progress': {
        const result = this.channels.publish(parsed);
        if (result === 'already-finished') {
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
          this.dropWarnings.log('dropped the exit command: allow_remote_exit is off');
        }
        return;
      case 'dropped': {
        const channel = parsed.channel === undefined ? '' : ` for channel ${parsed.channel}`;
        this.dropWarnings.log(`dropped a message${channel}: ${parsed.reason}`);
        return;
      }
    }
  }
}
