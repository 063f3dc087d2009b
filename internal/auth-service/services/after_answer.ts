/**
 * Work that runs after its request has been answered. Flows that must answer in the same time whether
 * or not an address has an account (forgot password, resend verification, e-mail change) answer 202
 * first and do the per-account work (reads, a token, the outbox row) here. Errors are logged (the
 * client was told 202 either way); `settled()` waits for the work at shutdown, so a queued mail is not
 * lost to a restart.
 */
import type { Logger } from '../../shared/utils/logging.js';

export class AfterAnswer {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly logger: Logger,
    /** The log message when a piece of work fails, e.g. 'mail request failed after its answer'. */
    private readonly failure: string,
  ) {}

  /** Runs `work` on a later turn of the event loop, after the current answer has gone out. */
  run(what: string, work: () => Promise<void>): void {
    const running: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((err: unknown) => this.logger.error({ err, what }, this.failure))
      .finally(() => this.pending.delete(running));
    this.pending.add(running);
  }

  /** Resolves once the work started after earlier answers is done (shutdown; tests). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }
}
