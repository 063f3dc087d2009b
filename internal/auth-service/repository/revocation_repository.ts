/** SQL for the revocation feed (table `revocations`, migration 0010, filled by triggers). */
import type { Queryable } from '../../shared/utils/database.js';
import type { RevocationRow } from '../models/revocation.js';

export class RevocationRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * The unexpired entries after the cursor (xid, seq), in that order. `settled` says whether the row's
   * transaction is older than every running one: only then may a reader's cursor pass it (a running
   * transaction may still commit a row that sorts before an unsettled one).
   */
  async after(xid: string, seq: string, limit: number, q: Queryable = this.db): Promise<RevocationRow[]> {
    const { rows } = await q.query<RevocationRow>(
      `SELECT xid::text || '.' || seq::text AS position,
              xid < pg_snapshot_xmin(pg_current_snapshot()) AS settled,
              kind, subject, not_before, expires_at
         FROM revocations
        WHERE (xid, seq) > ($1::text::xid8, $2::bigint) AND expires_at > now()
        ORDER BY xid, seq
        LIMIT $3`,
      [xid, seq, limit],
    );
    return rows;
  }

  /** The newest visible entry's seq (0 when none): auth-service's publisher tells replicas when it moves. */
  async latestSeq(q: Queryable = this.db): Promise<string> {
    const { rows } = await q.query<{ seq: string }>('SELECT COALESCE(max(seq), 0)::text AS seq FROM revocations');
    return rows[0]!.seq;
  }

  /** Deletes entries that no token can need any more; returns how many. */
  async prune(q: Queryable = this.db): Promise<number> {
    const { rowCount } = await q.query('DELETE FROM revocations WHERE expires_at <= now()');
    return rowCount;
  }

  /** How long new entries live (the access-token lifetime plus skew); read by the triggers. */
  async setKeep(seconds: number, q: Queryable = this.db): Promise<void> {
    await q.query(
      `INSERT INTO revocation_policy (id, keep) VALUES (true, make_interval(secs => $1::int))
       ON CONFLICT (id) DO UPDATE SET keep = EXCLUDED.keep`,
      [seconds],
    );
  }
}
