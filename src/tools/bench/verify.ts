/**
 * Delivery checks: every subscriber must receive its channel's messages exactly once, in
 * order, end with `FINISHED`, get nothing after it, and then be closed with 1000.
 */
import { readDelivery } from './script';

/** Problems found during a run; only the first few are kept in full. */
export class Problems {
  private readonly kept: string[] = [];
  private total = 0;

  constructor(private readonly keep = 20) {}

  add(problem: string): void {
    this.total += 1;
    if (this.kept.length < this.keep) this.kept.push(problem);
  }

  get count(): number {
    return this.total;
  }

  /** The kept problems, plus a line saying how many more there were. */
  list(): string[] {
    const more = this.total - this.kept.length;
    return more > 0 ? [...this.kept, `... and ${more} more`] : [...this.kept];
  }
}

/** One subscriber's view of one channel of `count` messages (the last being `FINISHED`). */
export class StreamCheck {
  /** Index of the next message expected. */
  private next = 0;
  private accepted = 0;
  private sawFinished = false;
  private closed = false;

  constructor(
    private readonly who: string,
    private readonly count: number,
    private readonly problems: Problems,
    /** Called with the send time of each task message that carries one. */
    private readonly onLatency?: (sentAtMicros: number) => void,
  ) {}

  /** Messages accepted so far. */
  get received(): number {
    return this.accepted;
  }

  /** `FINISHED` arrived. */
  get finished(): boolean {
    return this.sawFinished;
  }

  /** `FINISHED` arrived and the connection closed. */
  get complete(): boolean {
    return this.sawFinished && this.closed;
  }

  message(text: string): void {
    if (this.sawFinished) {
      this.problems.add(`${this.who}: delivered after FINISHED: ${clip(text)}`);
      return;
    }
    const delivery = readDelivery(text);
    if (delivery.kind === 'unexpected') {
      this.problems.add(`${this.who}: unexpected message: ${clip(text)}`);
      return;
    }
    const index = delivery.kind === 'finished' ? this.count - 1 : delivery.index;
    if (index < this.next) {
      this.problems.add(`${this.who}: message #${index} again (duplicated or reordered)`);
      return;
    }
    if (delivery.kind === 'task' && index >= this.count - 1) {
      this.problems.add(`${this.who}: message #${index} is beyond the ${this.count} sent`);
      return;
    }
    if (index > this.next) {
      // Resynchronise, so that one gap is one problem, not one per later message.
      this.problems.add(
        `${this.who}: messages #${this.next} to #${index - 1} missing before #${index}`,
      );
    }
    this.next = index + 1;
    this.accepted += 1;
    if (delivery.kind === 'finished') this.sawFinished = true;
    else if (delivery.sentAtMicros !== undefined) this.onLatency?.(delivery.sentAtMicros);
  }

  close(code: number): void {
    if (this.closed) return;
    this.closed = true;
    if (!this.sawFinished) {
      this.problems.add(
        `${this.who}: closed with ${code} after ${this.accepted} of ${this.count} messages`,
      );
    } else if (code !== 1000) {
      this.problems.add(`${this.who}: closed with ${code} after FINISHED, expected 1000`);
    }
  }

  /** A connection that failed or timed out before its stream was complete. */
  fail(reason: string): void {
    if (this.complete) return;
    this.closed = true;
    this.problems.add(`${this.who}: ${reason} after ${this.accepted} of ${this.count} messages`);
  }
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
