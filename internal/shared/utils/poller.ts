/**
 * A background loop: runs `work`, waits `intervalMs`, runs it again, until stopped. One run at a time;
 * a failed run is logged and the loop goes on; `kick()` runs it soon instead of at the next interval;
 * `stop()` waits for the run in flight (graceful shutdown). The outbox relays, the announcement fan-out
 * and the purge jobs are each one of these around their own `runOnce`.
 */
import type { Logger } from './logging.js';

export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly options: { intervalMs: number; logger: Logger; failure: string },
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs soon instead of at the next interval (e.g. right after a write queued work). */
  kick(): void {
    if (this.stopped || this.running) return;
    this.schedule(0);
  }

  /** Stops the loop and waits for the run in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = this.work().catch((err: unknown) => this.options.logger.warn({ err }, this.options.failure));
    await this.running;
    this.running = undefined;
    if (!this.stopped) this.schedule(this.options.intervalMs);
  }
}
