/**
 * The `account_outbox` table: events for course-service (`account_deleted`), added in the transaction
 * of the purge, so an event exists if and only if the account is gone. The relay claims due events with
 * a lease (FOR UPDATE SKIP LOCKED, so replicas share the work) and marks each delivered, retried or
 * failed. Style: docs/ARCHITECTURE.md, "Data layer" (executor last; `add` requires the transaction).
 */
import type { Queryable } from '../../shared/utils/database.js';
import { newId } from '../../shared/utils/ids.js';

/** The event course-service applies when an account is purged (its POST /internal/v1/account-events body). */
export interface AccountDeletedEvent {
  eventId: string;
  type: 'account_deleted';
  userId: string;
  eraseReviews: boolean;
  occurredAt: string;
}

export interface AccountOutboxRow {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  attempts: number;
  created_at: Date;
  delivered_at: Date | null;
  failed_at: Date | null;
  last_error: string | null;
}

export class AccountOutboxRepository {
  constructor(private readonly db: Queryable) {}

  /** Adds an `account_deleted` event in `tx`; its id is the event id (course-service's idempotency key). */
  async addAccountDeleted(userId: string, eraseReviews: boolean, tx: Queryable): Promise<string> {
    const id = newId();
    const payload: AccountDeletedEvent = { eventId: id, type: 'account_deleted', userId, eraseReviews, occurredAt: new Date().toISOString() };
    await tx.query('INSERT INTO account_outbox (id, type, payload) VALUES ($1, $2, $3::jsonb)', [id, payload.type, JSON.stringify(payload)]);
    return id;
  }

  /** Claims up to `limit` due events for `leaseMs`; a relay that dies leaves them due again after it. */
  async claimDue(limit: number, leaseMs: number, q: Queryable = this.db): Promise<AccountOutboxRow[]> {
    const { rows } = await q.query<AccountOutboxRow>(
      `UPDATE account_outbox o
          SET next_attempt_at = now() + make_interval(secs => $2::float8 / 1000), attempts = o.attempts + 1
        WHERE o.id IN (
          SELECT id FROM account_outbox
           WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
           ORDER BY next_attempt_at, id
           LIMIT $1
           FOR UPDATE SKIP LOCKED)
        RETURNING o.id, o.type, o.payload, o.attempts, o.created_at, o.delivered_at, o.failed_at, o.last_error`,
      [limit, leaseMs],
    );
    return rows;
  }

  async markDelivered(id: string, q: Queryable = this.db): Promise<void> {
    await q.query('UPDATE account_outbox SET delivered_at = now(), last_error = NULL WHERE id = $1', [id]);
  }

  async markRetry(id: string, error: string, delayMs: number, q: Queryable = this.db): Promise<void> {
    await q.query(
      `UPDATE account_outbox SET next_attempt_at = now() + make_interval(secs => $3::float8 / 1000), last_error = $2
        WHERE id = $1 AND delivered_at IS NULL`,
      [id, error.slice(0, 1000), delayMs],
    );
  }

  async markFailed(id: string, error: string, q: Queryable = this.db): Promise<void> {
    await q.query('UPDATE account_outbox SET failed_at = now(), last_error = $2 WHERE id = $1 AND delivered_at IS NULL', [id, error.slice(0, 1000)]);
  }

  async findById(id: string, q: Queryable = this.db): Promise<AccountOutboxRow | null> {
    const { rows } = await q.query<AccountOutboxRow>(
      'SELECT id, type, payload, attempts, created_at, delivered_at, failed_at, last_error FROM account_outbox WHERE id = $1',
      [id],
    );
    return rows[0] ?? null;
  }

  /** Pending and failed counts, for metrics. */
  async stats(q: Queryable = this.db): Promise<{ pending: number; failed: number }> {
    const { rows } = await q.query<{ pending: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL)::int AS pending,
              count(*) FILTER (WHERE failed_at IS NOT NULL)::int AS failed
         FROM account_outbox`,
    );
    return { pending: rows[0]?.pending ?? 0, failed: rows[0]?.failed ?? 0 };
  }
}
