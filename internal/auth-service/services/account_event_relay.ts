/**
 * Delivers account_outbox events (account deletions) to course-service's internal API, with the event
 * id as its idempotency key: course-service being down loses nothing (the event stays due and is
 * retried with backoff until accepted), and a retry after a lost answer changes nothing twice there.
 * Replicas share the work (the outbox claims with FOR UPDATE SKIP LOCKED and a lease).
 */
import { Gauge, type Registry } from 'prom-client';
import type { Database } from '../../shared/utils/database.js';
import { Poller } from '../../shared/utils/poller.js';
import type { Logger } from '../../shared/utils/logging.js';
import type { AccountOutboxRepository } from '../repository/account_outbox_repository.js';
import type { CourseClient } from './course_client.js';

export interface AccountRelayOptions {
  pollIntervalMs: number;
  batchSize: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  leaseMs: number;
}

export class AccountEventRelay {
  private readonly loop: Poller;

  constructor(
    private readonly db: Database,
    private readonly outbox: AccountOutboxRepository,
    private readonly client: Pick<CourseClient, 'deliver'>,
    private readonly logger: Logger,
    private readonly options: AccountRelayOptions,
  ) {
    this.loop = new Poller(() => this.runOnce(), { intervalMs: options.pollIntervalMs, logger, failure: 'account event relay run failed' });
  }

  private backoff(attempts: number): number {
    const step = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  /** Claims one batch and delivers it; returns how many were accepted. */
  async runOnce(): Promise<number> {
    const rows = await this.outbox.claimDue(this.options.batchSize, this.options.leaseMs, this.db);
    let accepted = 0;
    for (const row of rows) {
      if (row.type !== 'account_deleted') {
        await this.outbox.markFailed(row.id, `unknown event type ${row.type}`, this.db);
        continue;
      }
      const outcome = await this.client.deliver({ ...row.payload, eventId: row.id });
      if (outcome.kind === 'accepted') {
        await this.outbox.markDelivered(row.id, this.db);
        accepted++;
      } else if (outcome.kind === 'rejected') {
        this.logger.error({ eventId: row.id, type: row.type, reason: outcome.reason }, 'course-service refused an account event; marked failed');
        await this.outbox.markFailed(row.id, outcome.reason, this.db);
      } else {
        const delay = this.backoff(row.attempts);
        this.logger.warn({ eventId: row.id, attempts: row.attempts, retryInMs: delay, reason: outcome.reason }, 'account event not delivered; will retry');
        await this.outbox.markRetry(row.id, outcome.reason, delay, this.db);
      }
    }
    return accepted;
  }

  start(): void {
    this.loop.start();
  }

  /** Runs soon instead of at the next poll (after a purge wrote an event). */
  kick(): void {
    this.loop.kick();
  }

  /** Stops polling and waits for the batch in flight (graceful shutdown). */
  stop(): Promise<void> {
    return this.loop.stop();
  }
}

export function registerAccountOutboxMetrics(registry: Registry, outbox: AccountOutboxRepository): void {
  new Gauge({
    name: 'auth_account_outbox_pending',
    help: 'Account events (deletions) not yet delivered to course-service',
    registers: [registry],
    async collect() {
      this.set((await outbox.stats().catch(() => ({ pending: 0 }))).pending);
    },
  });
  new Gauge({
    name: 'auth_account_outbox_failed',
    help: 'Account events course-service refused for good',
    registers: [registry],
    async collect() {
      this.set((await outbox.stats().catch(() => ({ failed: 0 }))).failed);
    },
  });
}
