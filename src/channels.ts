/**
 * The channel registry. Each channel keeps its history for late subscribers and pushes new
 * messages to live ones; `FINISHED` completes it, and it is forgotten `retention` later.
 *
 * Nothing here grows without bound: a channel whose last message is `FAILED` (the broker's
 * final word on a job) finishes after `failedGrace`, any channel finishes after `idleTimeout`
 * without a message, the history stops at `maxMessages`, and past `maxChannels` the oldest
 * finished, then the longest idle channels are forgotten. Time comes from an injected
 * scheduler, so tests run hours in microseconds.
 *
 * Subscribers are plain listeners in an array per channel, not RxJS subscriptions: a
 * Subscriber chain per WebSocket cost more memory than the WebSocket itself. `stream()`
 * offers the same as an Observable for code that wants one.
 */
import { asyncScheduler, Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { DEFAULT_CONFIG } from './config';
import { LogThrottle } from './log-throttle';
import type { Logger } from './logger';
import type { ProgressMessage } from './message';

export interface ChannelsOptions {
  /** How long a finished channel's history stays, in milliseconds. */
  readonly retentionMs: number;
  readonly failedGraceMs?: number;
  readonly idleTimeoutMs?: number;
  readonly maxMessages?: number;
  readonly maxChannels?: number;
  /** Where finishing, capping and eviction are reported; silent without one. */
  readonly logger?: Logger;
  readonly scheduler?: SchedulerLike;
}

/** What became of a published message. */
export type PublishResult = 'stored' | 'finished' | 'already-finished';

/** Gets a channel's whole history, then its live messages, then its end. */
export interface ChannelListener {
  message(json: string): void;
  /** The channel finished: nothing follows. */
  finished(): void;
}

/** Counts of everything the registry holds, to prove that nothing leaks. */
export interface ChannelsStats {
  readonly channels: number;
  /** Timers pending: the registry has one, armed for the earliest deadline, while it holds any channel. */
  readonly timers: number;
  /** Listeners (subscriptions to channel streams) that are still open. */
  readonly subscribers: number;
}

interface Channel {
  readonly id: string;
  readonly history: string[];
  /**
   * Who gets live messages, having had the history. Replaced, never changed in place, so a
   * publish loop over it may run while listeners come and go.
   */
  listeners: readonly ChannelListener[];
  finished: boolean;
  lastMessageAt: number;
  lastWasFailed: boolean;
  /** The history reached its cap (warned once). */
  capped: boolean;
  /** When a finished channel is forgotten. */
  expiresAt: number;
}

const NO_LISTENERS: readonly ChannelListener[] = Object.freeze([]);

export class Channels {
  /** Active channels, least recently used first: the front is the longest idle. */
  private readonly active = new Map<string, Channel>();
  /** Active channels whose last message is FAILED, in the order of those messages. */
  private readonly failing = new Map<string, Channel>();
  /** Finished channels in the order they finished: the front expires first. */
  private readonly finished = new Map<string, Channel>();
  /**
   * One timer for every deadline: each list above is in deadline order, so the earliest is
   * at one of their fronts. A timer per channel cost more memory than the channel itself.
   */
  private timer: Subscription | undefined;
  private timerDue = Infinity;
  private readonly retentionMs: number;
  private readonly failedGraceMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxMessages: number;
  private readonly maxChannels: number;
  private readonly logger: Logger | undefined;
  private readonly scheduler: SchedulerLike;
  private readonly evictionWarnings: LogThrottle;
  private evictions = 0;
  private subscribers = 0;

  constructor(options: ChannelsOptions) {
    this.retentionMs = options.retentionMs;
    this.failedGraceMs = options.failedGraceMs ?? DEFAULT_CONFIG.failedGraceMs;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_CONFIG.channelIdleTimeoutMs;
    this.maxMessages = options.maxMessages ?? DEFAULT_CONFIG.maxChannelMessages;
    this.maxChannels = options.maxChannels ?? DEFAULT_CONFIG.maxChannels;
    this.logger = options.logger;
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.evictionWarnings = new LogThrottle((line) => this.logger?.warning(line), {
      burst: 1,
      windowMs: 60_000,
      what: 'more channels forgotten for max_channels',
      scheduler: this.scheduler,
    });
  }

  /** Channels currently held, finished ones included. */
  get size(): number {
    return this.active.size + this.finished.size;
  }

  /** Channels still receiving messages (or awaited by a subscriber). */
  get liveCount(): number {
    return this.active.size;
  }

  /** Channels held after they finished, for late subscribers. */
  get finishedCount(): number {
    return this.finished.size;
  }

  stats(): ChannelsStats {
    const timers = this.timer?.closed === false ? 1 : 0;
    return { channels: this.size, timers, subscribers: this.subscribers };
  }

  /** Adds a message to its channel, creating the channel on first use. */
  publish(message: ProgressMessage): PublishResult {
    const channel = this.channelFor(message.channel);
    if (channel.finished) return 'already-finished';
    channel.lastMessageAt = this.scheduler.now();
    channel.lastWasFailed = message.command === 'FAILED';
    // Re-inserting keeps `active` (and `failing`) ordered by last message.
    this.active.delete(channel.id);
    this.active.set(channel.id, channel);
    this.failing.delete(channel.id);
    if (channel.lastWasFailed) this.failing.set(channel.id, channel);
    // FINISHED is always kept: late subscribers (and the web app) need the end of the job.
    if (channel.history.length < this.maxMessages || message.terminal) {
      channel.history.push(message.json);
    } else if (!channel.capped) {
      channel.capped = true;
      this.logger?.warning(
        `channel ${channel.id} reached max_channel_messages (${this.maxMessages}): ` +
          'later messages go to live subscribers only',
      );
    }
    const json = message.json;
    for (const listener of channel.listeners) listener.message(json);
    if (message.terminal) {
      this.finish(channel);
      return 'finished';
    }
    this.armBy(this.deadline(channel));
    return 'stored';
  }

  /**
   * Gives the listener the channel's history at once, then its live messages, then
   * `finished()` when the channel finishes. A listener may come before the channel's first
   * message.
   */
  watch(id: string, listener: ChannelListener): void {
    const channel = this.channelFor(id);
    // Synchronous replay, then the live list: no message can fall in between.
    for (const json of channel.history) listener.message(json);
    if (channel.finished) {
      listener.finished();
      return;
    }
    // An array of the exact size: most channels have one or two listeners.
    channel.listeners = [...channel.listeners, listener];
    this.subscribers += 1;
  }

  /** Stops giving the listener live messages; a no-op once its channel finished. */
  unwatch(id: string, listener: ChannelListener): void {
    const channel = this.active.get(id);
    if (channel === undefined || !channel.listeners.includes(listener)) return;
    const rest = channel.listeners.filter((l) => l !== listener);
    channel.listeners = rest.length === 0 ? NO_LISTENERS : rest;
    this.subscribers -= 1;
    this.dropIfUnused(channel);
  }

  /** `watch` as an Observable that completes when the channel finishes. */
  stream(id: string): Observable<string> {
    return new Observable<string>((subscriber) => {
      const listener: ChannelListener = {
        message: (json) => subscriber.next(json),
        finished: () => subscriber.complete(),
      };
      this.watch(id, listener);
      return () => this.unwatch(id, listener);
    });
  }

  /** Forgets every channel and cancels every timer; subscribers are their owners' to end. */
  close(): void {
    this.disarm();
    this.active.clear();
    this.failing.clear();
    this.finished.clear();
    this.evictionWarnings.close();
  }

  private channelFor(id: string): Channel {
    const existing = this.active.get(id) ?? this.finished.get(id);
    if (existing !== undefined) return existing;
    if (this.size >= this.maxChannels) this.evictOne();
    const channel: Channel = {
      id,
      history: [],
      listeners: NO_LISTENERS,
      finished: false,
      lastMessageAt: this.scheduler.now(),
      lastWasFailed: false,
      capped: false,
      expiresAt: Infinity,
    };
    this.active.set(id, channel);
    this.armBy(this.deadline(channel));
    return channel;
  }

  /** When an active channel finishes unless a message comes first. */
  private deadline(channel: Channel): number {
    const silence = channel.lastWasFailed
      ? Math.min(this.failedGraceMs, this.idleTimeoutMs)
      : this.idleTimeoutMs;
    return channel.lastMessageAt + silence;
  }

  /**
   * Makes the timer fire by `due`. A timer that fires earlier is kept: it finds nothing due
   * and re-arms for the earliest deadline then, so a busy channel reschedules nothing.
   */
  private armBy(due: number): void {
    if (this.timer !== undefined) {
      if (this.timerDue <= due) return;
      this.timer.unsubscribe();
    }
    this.timerDue = due;
    this.timer = this.scheduler.schedule(
      () => this.onTimer(),
      Math.max(0, due - this.scheduler.now()),
    );
  }

  private disarm(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.timerDue = Infinity;
  }

  /** Handles every deadline that has come, oldest first in each list, and re-arms. */
  private onTimer(): void {
    this.timer = undefined;
    this.timerDue = Infinity;
    const now = this.scheduler.now();
    for (const channel of this.finished.values()) {
      if (channel.expiresAt > now) break;
      this.forget(channel);
    }
    for (const channel of this.failing.values()) {
      if (this.deadline(channel) > now) break;
      this.logSilence(channel);
      this.finish(channel);
    }
    for (const channel of this.active.values()) {
      if (channel.lastMessageAt + this.idleTimeoutMs > now) break;
      this.logSilence(channel);
      this.finish(channel);
    }
    const [expiring] = this.finished.values();
    const [failing] = this.failing.values();
    const [idle] = this.active.values();
    const due = Math.min(
      expiring?.expiresAt ?? Infinity,
      failing === undefined ? Infinity : this.deadline(failing),
      idle === undefined ? Infinity : idle.lastMessageAt + this.idleTimeoutMs,
    );
    if (due < Infinity) this.armBy(due);
  }

  private logSilence(channel: Channel): void {
    if (channel.lastWasFailed) {
      this.logger?.info(
        `channel ${channel.id} finished: nothing came for ${this.failedGraceMs / 1000} s after FAILED`,
      );
    } else if (channel.history.length > 0) {
      this.logger?.info(
        `channel ${channel.id} finished: no message for ${this.idleTimeoutMs / 1000} s`,
      );
    }
  }

  /** Completes the channel's subscribers and starts its retention; an empty one goes at once. */
  private finish(channel: Channel): void {
    channel.finished = true;
    this.active.delete(channel.id);
    this.failing.delete(channel.id);
    this.endListeners(channel);
    if (channel.history.length === 0) {
      if (this.size === 0) this.disarm();
      return;
    }
    channel.expiresAt = this.scheduler.now() + this.retentionMs;
    this.finished.set(channel.id, channel);
    this.armBy(channel.expiresAt);
  }

  private forget(channel: Channel): void {
    // By identity: a fresh channel may already hold the same id.
    for (const map of [this.active, this.failing, this.finished]) {
      if (map.get(channel.id) === channel) map.delete(channel.id);
    }
    // Nothing held, nothing to wait for.
    if (this.size === 0) this.disarm();
  }

  /** A channel that has no message and no subscriber holds nothing worth keeping. */
  private dropIfUnused(channel: Channel): void {
    if (channel.history.length === 0 && !channel.finished && channel.listeners.length === 0) {
      this.forget(channel);
    }
  }

  /** Makes room for one channel: the oldest finished goes first, else the longest idle. */
  private evictOne(): void {
    const [oldestFinished] = this.finished.values();
    const [longestIdle] = this.active.values();
    const victim = oldestFinished ?? longestIdle;
    if (victim === undefined) return;
    this.evictions += 1;
    this.evictionWarnings.log(
      `max_channels (${this.maxChannels}) reached: forgot ${victim.finished ? 'finished' : 'idle'} ` +
        `channel ${victim.id} (${this.evictions} forgotten so far)`,
    );
    if (!victim.finished) {
      victim.finished = true;
      this.endListeners(victim);
    }
    this.forget(victim);
  }

  private endListeners(channel: Channel): void {
    const listeners = channel.listeners;
    channel.listeners = NO_LISTENERS;
    this.subscribers -= listeners.length;
    for (const listener of listeners) listener.finished();
  }
}
