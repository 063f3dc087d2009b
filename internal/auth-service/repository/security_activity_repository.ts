/**
 * SQL that reads and purges security activity (table `security_events`; recording is
 * SecurityEventRepository's). Pages are keyset pages, newest first, on (created_at, id): the indexes
 * of migration 0005 serve both the per-user and the per-event reads. Style: docs/ARCHITECTURE.md, "Data layer".
 */
import type { Queryable } from '../../shared/utils/database.js';
import type { SecurityEventName, SecurityEventRow } from '../models/security_event.js';

export interface SecurityEventFilter {
  userId?: string;
  event?: SecurityEventName;
  /** Only rows newer than this many days (the owner's view). */
  maxAgeDays?: number;
  /** Keyset: rows strictly older than this (created_at, id). */
  before?: { createdAt: string; id: string };
  limit: number;
}

export class SecurityActivityRepository {
  constructor(private readonly db: Queryable) {}

  async list(f: SecurityEventFilter, q: Queryable = this.db): Promise<SecurityEventRow[]> {
    const { rows } = await q.query<SecurityEventRow>(
      `SELECT id, user_id, event, ip, user_agent, session_id, details, created_at
         FROM security_events
        WHERE ($1::uuid IS NULL OR user_id = $1)
          AND ($2::text IS NULL OR event = $2)
          AND ($3::int IS NULL OR created_at > now() - make_interval(days => $3::int))
          AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $6`,
      [f.userId ?? null, f.event ?? null, f.maxAgeDays ?? null, f.before?.createdAt ?? null, f.before?.id ?? null, f.limit],
    );
    return rows;
  }

  /**
   * Deletes up to `batchSize` rows older than `retentionDays`; returns how many went. Rows another
   * replica is deleting at the same moment are skipped (SKIP LOCKED), so several purgers never wait
   * on each other or delete twice.
   */
  async purgeBatch(retentionDays: number, batchSize: number, q: Queryable = this.db): Promise<number> {
    const { rowCount } = await q.query(
      `DELETE FROM security_events WHERE id IN (
         SELECT id FROM security_events
          WHERE created_at < now() - make_interval(days => $1::int)
          ORDER BY created_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED)`,
      [retentionDays, batchSize],
    );
    return rowCount;
  }
}
