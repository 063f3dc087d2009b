/**
 * SQL for e-mail change: the requests (table `email_change_requests`) and their one-time tokens
 * (`one_time_tokens` rows of the email_change_* purposes, whose `details` name the request). Only the
 * SHA-256 of a token is stored. Style: docs/ARCHITECTURE.md, "Data layer".
 */
import type { Queryable } from '../../shared/utils/database.js';
import type { EmailChangeRow, EmailChangeStatus, EmailChangeTokenDetails } from '../models/email_change.js';

export type EmailChangePurpose = 'email_change_new' | 'email_change_old' | 'email_change_cancel';

export class EmailChangeRepository {
  constructor(private readonly db: Queryable) {}

  async create(
    r: { id: string; userId: string; newEmail: string; sessionId: string | null; ttlSec: number },
    q: Queryable = this.db,
  ): Promise<EmailChangeRow> {
    const { rows } = await q.query<EmailChangeRow>(
      `INSERT INTO email_change_requests (id, user_id, new_email, session_id, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5)) RETURNING *`,
      [r.id, r.userId, r.newEmail, r.sessionId, r.ttlSec],
    );
    return rows[0]!;
  }

  /** Locks the request until `tx` ends: the two confirmations and a cancel of one request serialise here. */
  async findForUpdate(id: string, tx: Queryable): Promise<EmailChangeRow | null> {
    const { rows } = await tx.query<EmailChangeRow>('SELECT * FROM email_change_requests WHERE id = $1 FOR UPDATE', [id]);
    return rows[0] ?? null;
  }

  async findById(id: string, q: Queryable = this.db): Promise<EmailChangeRow | null> {
    const { rows } = await q.query<EmailChangeRow>('SELECT * FROM email_change_requests WHERE id = $1', [id]);
    return rows[0] ?? null;
  }

  /** Ends the user's pending request (a newer one replaces it); returns its id, or null when none was pending. */
  async supersedePending(userId: string, q: Queryable = this.db): Promise<string | null> {
    const { rows } = await q.query<{ id: string }>(
      `UPDATE email_change_requests SET status = 'superseded', finished_at = now()
        WHERE user_id = $1 AND status = 'pending' RETURNING id`,
      [userId],
    );
    return rows[0]?.id ?? null;
  }

  /** Records one side's confirmation (idempotent) and answers the row as it now is. */
  async confirmSide(id: string, side: 'old' | 'new', q: Queryable = this.db): Promise<EmailChangeRow> {
    const column = side === 'old' ? 'old_confirmed_at' : 'new_confirmed_at';
    const { rows } = await q.query<EmailChangeRow>(
      `UPDATE email_change_requests SET ${column} = COALESCE(${column}, now()) WHERE id = $1 RETURNING *`,
      [id],
    );
    return rows[0]!;
  }

  async finish(id: string, status: Exclude<EmailChangeStatus, 'pending'>, q: Queryable = this.db): Promise<void> {
    await q.query(`UPDATE email_change_requests SET status = $2, finished_at = now() WHERE id = $1`, [id, status]);
  }

  /**
   * Moves the account to its new address, which the confirmation proved (so it counts as verified).
   * A unique violation here means the address was taken meanwhile; the caller turns it into 409.
   */
  async applyToUser(userId: string, newEmail: string, q: Queryable = this.db): Promise<void> {
    await q.query(
      'UPDATE users SET email = $2, email_verified_at = now(), updated_at = now() WHERE id = $1',
      [userId, newEmail],
    );
  }

  async createToken(
    hash: Buffer,
    userId: string,
    purpose: EmailChangePurpose,
    ttlSec: number,
    details: EmailChangeTokenDetails,
    q: Queryable = this.db,
  ): Promise<void> {
    await q.query(
      `INSERT INTO one_time_tokens (token_hash, user_id, purpose, expires_at, details)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5)`,
      [hash, userId, purpose, ttlSec, JSON.stringify(details)],
    );
  }

  /** Uses a token once: answers its user, purpose and details when it is unused, unexpired and of one of `purposes`. */
  async consumeToken(
    hash: Buffer,
    purposes: readonly EmailChangePurpose[],
    q: Queryable = this.db,
  ): Promise<{ userId: string; purpose: EmailChangePurpose; details: EmailChangeTokenDetails } | null> {
    const { rows } = await q.query<{ user_id: string; purpose: EmailChangePurpose; details: EmailChangeTokenDetails | null }>(
      `UPDATE one_time_tokens SET used_at = now()
        WHERE token_hash = $1 AND purpose = ANY($2::text[]) AND used_at IS NULL AND expires_at > now()
        RETURNING user_id, purpose, details`,
      [hash, purposes],
    );
    const row = rows[0];
    if (!row?.details || typeof row.details.requestId !== 'string') return null;
    return { userId: row.user_id, purpose: row.purpose, details: row.details };
  }

  /** Spends every open token of a request (it completed, was cancelled or superseded). */
  async spendTokens(requestId: string, q: Queryable = this.db): Promise<void> {
    await q.query(
      `UPDATE one_time_tokens SET used_at = now()
        WHERE details ->> 'requestId' = $1 AND used_at IS NULL
          AND purpose IN ('email_change_new', 'email_change_old', 'email_change_cancel')`,
      [requestId],
    );
  }

  /**
   * Deletes up to `batchSize` requests that ended or expired more than `retentionDays` ago (the new
   * address is personal data kept as long as the security events that mention it). SKIP LOCKED, as for
   * the events, so replicas purge side by side.
   */
  async purgeBatch(retentionDays: number, batchSize: number, q: Queryable = this.db): Promise<number> {
    const { rowCount } = await q.query(
      `DELETE FROM email_change_requests WHERE id IN (
         SELECT id FROM email_change_requests
          WHERE COALESCE(finished_at, expires_at) < now() - make_interval(days => $1::int)
          ORDER BY created_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED)`,
      [retentionDays, batchSize],
    );
    return rowCount;
  }
}
