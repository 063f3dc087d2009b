/** SQL for the mail outbox, in the repository style of docs/ARCHITECTURE.md ("Data layer"). */
import type { Queryable } from '../../shared/utils/database.js';
import type { NotificationRow, NotificationStatus } from '../models/notification.js';

export interface NewNotification {
  id: string;
  userId: string | null;
  recipient: string;
  template: string;
  locale: string;
  data: Record<string, unknown>;
  idempotencyKey?: string;
}

export class NotificationRepository {
  constructor(private readonly db: Queryable) {}

  /** Queues a mail; with an idempotency key already used, returns the existing row's id instead. */
  async enqueue(n: NewNotification, q: Queryable = this.db): Promise<{ id: string; created: boolean }> {
    const { rows } = await q.query<{ id: string }>(
      `INSERT INTO notifications (id, user_id, recipient, template, locale, data, idempotency_key)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)
       ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
       RETURNING id`,
      [n.id, n.userId, n.recipient, n.template, n.locale, JSON.stringify(n.data), n.idempotencyKey ?? null],
    );
    if (rows[0]) return { id: rows[0].id, created: true };
    const existing = await q.query<{ id: string }>('SELECT id FROM notifications WHERE idempotency_key = $1', [n.idempotencyKey]);
    return { id: existing.rows[0]!.id, created: false };
  }

  /**
   * Claims due mails for this worker: SKIP LOCKED lets replicas claim disjoint rows, and the lease
   * (`locked_until`) hides them from others until it ends; a crashed worker's rows come back then.
   */
  async claimDue(limit: number, leaseMs: number, q: Queryable = this.db): Promise<NotificationRow[]> {
    const { rows } = await q.query<NotificationRow>(
      `UPDATE notifications n
          SET locked_until = now() + make_interval(secs => $2::float8 / 1000), attempts = n.attempts + 1, updated_at = now()
        WHERE n.id IN (
          SELECT id FROM notifications
           WHERE status = 'queued' AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
           ORDER BY next_attempt_at
           LIMIT $1
           FOR UPDATE SKIP LOCKED)
        RETURNING n.*`,
      [limit, leaseMs],
    );
    return rows;
  }

  /**
   * Sent: the data (which may hold one-time links) is dropped, it is no longer needed. Not fenced like
   * markRetry/markFailed: once a server accepted the mail it was sent, whatever another worker recorded.
   */
  async markSent(id: string, q: Queryable = this.db): Promise<void> {
    await q.query(
      `UPDATE notifications SET status = 'sent', sent_at = now(), locked_until = NULL, last_error = NULL,
              data = '{}'::jsonb, updated_at = now() WHERE id = $1`,
      [id],
    );
  }

  /**
   * Retry and failure apply only to a mail still queued and, given `attempt` (the row's `attempts` as
   * claimed), only while no other worker has claimed it since: a worker whose lease ran out mid-send must
   * not turn a mail another worker delivered into `failed` (an admin retry would send it twice), nor
   * release a claim another worker holds. Returns false when the update did not apply.
   */
  async markRetry(id: string, error: string, delayMs: number, options: { attempt?: number } = {}, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query(
      `UPDATE notifications SET next_attempt_at = now() + make_interval(secs => $3::float8 / 1000), locked_until = NULL,
              last_error = $2, updated_at = now()
        WHERE id = $1 AND status = 'queued' AND ($4::int IS NULL OR attempts = $4)`,
      [id, error.slice(0, 1000), delayMs, options.attempt ?? null],
    );
    return rowCount > 0;
  }

  async markFailed(id: string, error: string, options: { attempt?: number } = {}, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query(
      `UPDATE notifications SET status = 'failed', locked_until = NULL, last_error = $2, updated_at = now()
        WHERE id = $1 AND status = 'queued' AND ($3::int IS NULL OR attempts = $3)`,
      [id, error.slice(0, 1000), options.attempt ?? null],
    );
    return rowCount > 0;
  }

  /** An admin's retry of a failed mail: queued again, due now, attempts counted afresh. */
  async requeue(id: string, q: Queryable = this.db): Promise<NotificationRow | null> {
    const { rows } = await q.query<NotificationRow>(
      `UPDATE notifications SET status = 'queued', attempts = 0, next_attempt_at = now(), locked_until = NULL, updated_at = now()
        WHERE id = $1 AND status = 'failed' RETURNING *`,
      [id],
    );
    return rows[0] ?? null;
  }

  async findById(id: string, q: Queryable = this.db): Promise<NotificationRow | null> {
    const { rows } = await q.query<NotificationRow>('SELECT * FROM notifications WHERE id = $1', [id]);
    return rows[0] ?? null;
  }

  async list(filter: { status?: NotificationStatus; afterId?: string; limit: number }, q: Queryable = this.db): Promise<NotificationRow[]> {
    const { rows } = await q.query<NotificationRow>(
      `SELECT * FROM notifications
        WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR id < $2)
        ORDER BY id DESC LIMIT $3`,
      [filter.status ?? null, filter.afterId ?? null, filter.limit],
    );
    return rows;
  }

  /** Counts by status and the age of the oldest queued mail, for metrics. */
  async stats(q: Queryable = this.db): Promise<{ queued: number; sent: number; failed: number; oldestQueuedSec: number }> {
    const { rows } = await q.query<{ status: string; n: number; oldest: number | null }>(
      `SELECT status, count(*)::int AS n,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE status = 'queued'))::float8 AS oldest
         FROM notifications GROUP BY status`,
    );
    const by = Object.fromEntries(rows.map((r) => [r.status, r]));
    return {
      queued: by.queued?.n ?? 0,
      sent: by.sent?.n ?? 0,
      failed: by.failed?.n ?? 0,
      oldestQueuedSec: Number(by.queued?.oldest ?? 0),
    };
  }
}
