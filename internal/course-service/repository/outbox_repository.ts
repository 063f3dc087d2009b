/**
 * The `course_outbox` table. Events are added inside the transaction of the change that causes them, so
 * an event exists if and only if its change committed; the relay claims due events with a lease
 * (FOR UPDATE SKIP LOCKED, so replicas share the work) and marks each delivered, retried or failed.
 * Repository style as in docs/ARCHITECTURE.md ("Data layer"): the executor last; `add` requires the
 * transaction of the change.
 */
import type { Queryable } from '../../shared/utils/database.js';
import { newId } from '../../shared/utils/ids.js';
import type { AnnouncementEvent, CourseCompletedEvent, EnrolmentCreatedEvent, ReviewCreatedEvent, ReviewHiddenEvent } from '../models/events.js';

export interface OutboxRow {
  id: string;
  type: string;
  payload: Record<string, unknown>;
  attempts: number;
  created_at: Date;
}

type WithoutId<T> = Omit<T, 'eventId'>;

export class OutboxRepository {
  constructor(private readonly db: Queryable) {}

  /** Adds an event in `tx`; its id doubles as `payload.eventId` (the relay's idempotency key). */
  async add(type: 'review_created', payload: WithoutId<ReviewCreatedEvent>, tx: Queryable): Promise<string>;
  async add(type: 'review_hidden', payload: WithoutId<ReviewHiddenEvent>, tx: Queryable): Promise<string>;
  async add(type: 'enrolment_created', payload: WithoutId<EnrolmentCreatedEvent>, tx: Queryable): Promise<string>;
  async add(type: 'course_completed', payload: WithoutId<CourseCompletedEvent>, tx: Queryable): Promise<string>;
  async add(type: string, payload: object, tx: Queryable): Promise<string> {
    const id = newId();
    await tx.query('INSERT INTO course_outbox (id, type, payload) VALUES ($1, $2, $3::jsonb)', [
      id,
      type,
      JSON.stringify({ eventId: id, ...payload }),
    ]);
    return id;
  }

  /**
   * Adds one event per payload in one statement (an announcement's batch of learners); each gets its own
   * id, which is also its `payload.eventId`. Returns the ids in payload order.
   */
  async addMany(type: 'course_announcement', payloads: WithoutId<AnnouncementEvent>[], tx: Queryable): Promise<string[]>;
  async addMany(type: 'course_completed', payloads: WithoutId<CourseCompletedEvent>[], tx: Queryable): Promise<string[]>;
  async addMany(type: string, payloads: object[], tx: Queryable): Promise<string[]> {
    if (payloads.length === 0) return [];
    const ids = payloads.map(() => newId());
    const bodies = payloads.map((payload, i) => JSON.stringify({ eventId: ids[i], ...payload }));
    await tx.query(
      `INSERT INTO course_outbox (id, type, payload)
       SELECT id, $1, payload::jsonb FROM unnest($2::uuid[], $3::text[]) AS e(id, payload)`,
      [type, ids, bodies],
    );
    return ids;
  }

  /** Claims up to `limit` due events for `leaseMs`; a relay that dies leaves them due again after it. */
  async claimDue(limit: number, leaseMs: number, q: Queryable = this.db): Promise<OutboxRow[]> {
    const { rows } = await q.query<OutboxRow>(
      `UPDATE course_outbox o
          SET next_attempt_at = now() + make_interval(secs => $2::float8 / 1000), attempts = o.attempts + 1
        WHERE o.id IN (
          SELECT id FROM course_outbox
           WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
           ORDER BY next_attempt_at, id
           LIMIT $1
           FOR UPDATE SKIP LOCKED)
        RETURNING o.id, o.type, o.payload, o.attempts, o.created_at`,
      [limit, leaseMs],
    );
    return rows;
  }

  async markDelivered(id: string, q: Queryable = this.db): Promise<void> {
    await q.query('UPDATE course_outbox SET delivered_at = now(), last_error = NULL WHERE id = $1', [id]);
  }

  async markRetry(id: string, error: string, delayMs: number, q: Queryable = this.db): Promise<void> {
    await q.query(
      `UPDATE course_outbox SET next_attempt_at = now() + make_interval(secs => $3::float8 / 1000), last_error = $2
        WHERE id = $1 AND delivered_at IS NULL`,
      [id, error.slice(0, 1000), delayMs],
    );
  }

  async markFailed(id: string, error: string, q: Queryable = this.db): Promise<void> {
    await q.query('UPDATE course_outbox SET failed_at = now(), last_error = $2 WHERE id = $1 AND delivered_at IS NULL', [id, error.slice(0, 1000)]);
  }

  /** Pending and failed counts and the age of the oldest pending event, for metrics. */
  async stats(q: Queryable = this.db): Promise<{ pending: number; failed: number; oldestPendingSec: number }> {
    const { rows } = await q.query<{ pending: number; failed: number; oldest: number | null }>(
      `SELECT count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL)::int AS pending,
              count(*) FILTER (WHERE failed_at IS NOT NULL)::int AS failed,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL))::float8 AS oldest
         FROM course_outbox`,
    );
    const r = rows[0];
    return { pending: r?.pending ?? 0, failed: r?.failed ?? 0, oldestPendingSec: Number(r?.oldest ?? 0) };
  }
}
