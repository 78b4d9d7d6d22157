/**
 * Keeps log lines caused by outside input bounded: a burst of lines goes through, the rest of
 * the window is only counted, and one summary line reports the count when the window ends.
 * A flood of bad messages or hostile clients thus costs a few lines per window, not one each.
 */
import type { SchedulerLike, Subscription } from 'rxjs';

export interface LogThrottleOptions {
  /** Lines written one by one per window. */
  readonly burst: number;
  readonly windowMs: number;
  /** What the lines are about, for the summary: "more dropped messages". */
  readonly what: string;
  readonly scheduler: SchedulerLike;
}

export class LogThrottle {
  private written = 0;
  private suppressed = 0;
  private window: Subscription | undefined;

  constructor(
    private readonly write: (line: string) => void,
    private readonly options: LogThrottleOptions,
  ) {}

  log(line: string): void {
    if (this.window === undefined) {
      this.window = this.options.scheduler.schedule(() => this.endWindow(), this.options.windowMs);
    }
    if (this.written < this.options.burst) {
      this.written += 1;
      this.write(line);
    } else {
      this.suppressed += 1;
    }
  }

  /** Cancels the window's timer, writing its summary first so no count is lost. */
  close(): void {
    this.window?.unsubscribe();
    this.endWindow();
  }

  private endWindow(): void {
    this.window = undefined;
    if (this.suppressed > 0) {
      const seconds = this.options.windowMs / 1000;
      this.write(
        `${this.suppressed} ${this.options.what} in the last ${seconds} s, not logged one by one`,
      );
    }
    this.written = 0;
    this.suppressed = 0;
  }
}
