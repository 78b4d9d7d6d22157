/**
 * The composition root: builds every piece from a `Config`, wires the one path a message
 * takes (ZeroMQ frames -> parse -> channel -> WebSockets) and owns the shutdown order.
 */
import { map, type SchedulerLike, type Subscription } from 'rxjs';
import { Channels } from './channels';
import type { Config, Endpoint } from './config';
import type { Logger } from './logger';
import { parseFrames, type Parsed } from './message';
import { WsServer } from './ws-server';
import { ROUTING_ID, ZmqSource } from './zmq-source';

export interface MonitorOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Time for channel expiry; tests pass a virtual one. */
  readonly scheduler?: SchedulerLike;
}

/** Where the monitor actually listens (ports resolved when the config said 0). */
export interface BoundEndpoints {
  readonly websocket: Endpoint;
  readonly zeromq: Endpoint;
}

export class Monitor {
  private readonly channels: Channels;
  private readonly zmq = new ZmqSource();
  private readonly ws: WsServer;
  private subscription: Subscription | undefined;
  private stopping: Promise<void> | undefined;
  private readonly stoppedCallbacks: ((failed: boolean) => void)[] = [];

  constructor(private readonly options: MonitorOptions) {
    const { config, logger } = options;
    this.channels = new Channels({
      retentionMs: config.channelRetentionMs,
      scheduler: options.scheduler,
    });
    this.ws = new WsServer({
      endpoint: config.websocket,
      tls: config.tls,
      channels: this.channels,
      logger,
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
          logger.critical(`ZeroMQ receive failed: ${error.message}; stopping`);
          void this.stop('ZeroMQ receive failed', true);
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
    for (const callback of this.stoppedCallbacks) callback(failed);
  }

  private handle(parsed: Parsed): void {
    const { logger, config } = this.options;
    switch (parsed.kind) {
      case 'progress': {
        const result = this.channels.publish(parsed);
        if (result === 'already-finished') {
          logger.warning(
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
          logger.warning('dropped the exit command: allow_remote_exit is off');
        }
        return;
      case 'dropped': {
        const channel = parsed.channel === undefined ? '' : ` for channel ${parsed.channel}`;
        logger.warning(`dropped a message${channel}: ${parsed.reason}`);
        return;
      }
    }
  }
}
