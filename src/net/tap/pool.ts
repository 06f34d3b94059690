import type { Logger } from 'pino';
import { errorMessage } from '../../errors.js';
import type { Runner } from '../../system/runner.js';
import { createPoolTap, deleteLink } from './links.js';

/**
 * Taps made ahead of need, so a VM's boot renames one instead of waiting for `ip tuntap`.
 * Refilled in the background after every take, one tap at a time; a failure is logged
 * and the next boot makes its own tap.
 */
export class TapPool {
  private readonly free: string[] = [];
  private filling: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly runner: Runner,
    private readonly log: Pick<Logger, 'warn'>,
    readonly size = 2,
  ) {}

  /** Taps a previous daemon left in the pool (found at start-up). */
  adopt(names: readonly string[]): void {
    for (const name of names) if (!this.free.includes(name)) this.free.push(name);
  }

  /** A pooled tap, or undefined when the pool is empty; the pool refills behind it. */
  take(): string | undefined {
    const tap = this.free.shift();
    this.refill();
    return tap;
  }

  get available(): number {
    return this.free.length;
  }

  /** Starts filling up to `size` unless a fill is under way; `idle()` waits for it. */
  refill(): void {
    if (this.closed || this.filling) return;
    this.filling = (async () => {
      try {
        while (!this.closed && this.free.length < this.size)
          this.free.push(await createPoolTap(this.runner));
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'tap pool: cannot make a tap');
      } finally {
        this.filling = undefined;
      }
    })();
  }

  async idle(): Promise<void> {
    await this.filling;
  }

  /** Stops refilling and deletes the pooled taps (the daemon closes). */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling;
    for (const tap of this.free.splice(0)) await deleteLink(this.runner, tap).catch(() => {});
  }
}
