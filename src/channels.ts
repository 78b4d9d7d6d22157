/**
 * The channel registry: one ReplaySubject per channel id, holding the channel's history for
 * late subscribers and pushing new messages to live ones. `FINISHED` completes a channel; it
 * is forgotten `retention` later. Time comes from an injected scheduler.
 */
import { asyncScheduler, type Observable, ReplaySubject, type SchedulerLike } from 'rxjs';
import type { Subscription } from 'rxjs';
import type { ProgressMessage } from './message';

export interface ChannelsOptions {
  /** How long a finished channel's history stays, in milliseconds. */
  readonly retentionMs: number;
  readonly scheduler?: SchedulerLike;
}

/** What became of a published message. */
export type PublishResult = 'stored' | 'finished' | 'already-finished';

interface Channel {
  readonly subject: ReplaySubject<string>;
  finished: boolean;
  expiry: Subscription | undefined;
}

export class Channels {
  private readonly channels = new Map<string, Channel>();
  private readonly retentionMs: number;
  private readonly scheduler: SchedulerLike;

  constructor(options: ChannelsOptions) {
    this.retentionMs = options.retentionMs;
    this.scheduler = options.scheduler ?? asyncScheduler;
  }

  /** Channels currently held, finished ones included. */
  get size(): number {
    return this.channels.size;
  }

  /** Adds a message to its channel, creating the channel on first use. */
  publish(message: ProgressMessage): PublishResult {
    const channel = this.channelFor(message.channel);
    if (channel.finished) return 'already-finished';
    channel.subject.next(message.json);
    if (!message.terminal) return 'stored';
    channel.finished = true;
    channel.subject.complete();
    channel.expiry = this.scheduler.schedule(() => this.forget(message.channel), this.retentionMs);
    return 'finished';
  }

  /**
   * The channel's whole history, then its live messages; completes after `FINISHED`. A
   * subscriber may come before the channel's first message.
   */
  stream(id: string): Observable<string> {
    return this.channelFor(id).subject;
  }

  /** Forgets every channel and cancels every timer; subscribers are their owners' to end. */
  close(): void {
    for (const channel of this.channels.values()) channel.expiry?.unsubscribe();
    this.channels.clear();
  }

  private channelFor(id: string): Channel {
    let channel = this.channels.get(id);
    if (channel === undefined) {
      channel = { subject: new ReplaySubject<string>(), finished: false, expiry: undefined };
      this.channels.set(id, channel);
    }
    return channel;
  }

  private forget(id: string): void {
    this.channels.delete(id);
  }
}
