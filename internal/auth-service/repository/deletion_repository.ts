/**
 * SQL for account deletion: pending requests (`account_deletions`), the purge, and what the GDPR export
 * reads of an account beyond its profile. Style: docs/ARCHITECTURE.md, "Data layer" (executor last).
 */
import type { Queryable } from '../../shared/utils/database.js';

export interface DeletionRow {
  user_id: string;
  requested_at: Date;
  purge_at: Date;
  erase_reviews: boolean;
}

export interface ExportSessionRow {
  id: string;
  user_agent: string | null;
  ip: string | null;
  created_at: Date;
  last_used_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
  authenticated_at: Date;
  aal: string;
  amr: string[];
}

export interface ExportSecurityEventRow {
  id: string;
  event: string;
  ip: string | null;
  user_agent: string | null;
  session_id: string | null;
  details: Record<string, unknown>;
  created_at: Date;
}

export interface ExportMailRow {
  id: string;
  recipient: string;
  template: string;
  locale: string;
  status: string;
  created_at: Date;
  sent_at: Date | null;
}

export class DeletionRepository {
  constructor(private readonly db: Queryable) {}

  /** Schedules the purge `graceHours` from now; null when one is already pending. */
  async create(userId: string, graceHours: number, eraseReviews: boolean, tx: Queryable): Promise<DeletionRow | null> {
    const { rows } = await tx.query<DeletionRow>(
      `INSERT INTO account_deletions (user_id, purge_at, erase_reviews)
       VALUES ($1, now() + make_interval(hours => $2::int), $3)
       ON CONFLICT (user_id) DO NOTHING
       RETURNING *`,
      [userId, graceHours, eraseReviews],
    );
    return rows[0] ?? null;
  }

  async find(userId: string, q: Queryable = this.db): Promise<DeletionRow | null> {
    const { rows } = await q.query<DeletionRow>('SELECT * FROM account_deletions WHERE user_id = $1', [userId]);
    return rows[0] ?? null;
  }

  /** find() that locks the row until `tx` ends (a cancel and the purge of one account serialise on it). */
  async findForUpdate(userId: string, tx: Queryable): Promise<DeletionRow | null> {
    const { rows } = await tx.query<DeletionRow>('SELECT * FROM account_deletions WHERE user_id = $1 FOR UPDATE', [userId]);
    return rows[0] ?? null;
  }

  /** The owner of an unused, unexpired cancel link (read without using it up), or null. */
  async cancelTokenOwner(tokenHash: Buffer, q: Queryable = this.db): Promise<string | null> {
    const { rows } = await q.query<{ user_id: string }>(
      `SELECT user_id FROM one_time_tokens
        WHERE token_hash = $1 AND purpose = 'deletion_cancel' AND used_at IS NULL AND expires_at > now()`,
      [tokenHash],
    );
    return rows[0]?.user_id ?? null;
  }

  async remove(userId: string, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query('DELETE FROM account_deletions WHERE user_id = $1', [userId]);
    return rowCount > 0;
  }

  /** One due request, locked; a request another replica is purging is skipped (FOR UPDATE SKIP LOCKED). */
  async claimDue(tx: Queryable): Promise<DeletionRow | null> {
    const { rows } = await tx.query<DeletionRow>(
      `SELECT * FROM account_deletions WHERE purge_at <= now() ORDER BY purge_at, user_id LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    return rows[0] ?? null;
  }

  /**
   * Deletes the account: its mail log (addresses and links) first, then the user row, whose sessions,
   * one-time tokens, security events and pending deletion go by cascade.
   */
  async purgeUser(userId: string, tx: Queryable): Promise<boolean> {
    await tx.query('DELETE FROM notifications WHERE user_id = $1', [userId]);
    const { rowCount } = await tx.query('DELETE FROM users WHERE id = $1', [userId]);
    return rowCount > 0;
  }

  // ---- export ----

  async sessionsOf(userId: string, q: Queryable = this.db): Promise<ExportSessionRow[]> {
    const { rows } = await q.query<ExportSessionRow>(
      `SELECT id, user_agent, ip, created_at, last_used_at, expires_at, revoked_at, revoked_reason, authenticated_at, aal, amr
         FROM sessions WHERE user_id = $1 ORDER BY created_at, id`,
      [userId],
    );
    return rows;
  }

  async securityEventsOf(userId: string, q: Queryable = this.db): Promise<ExportSecurityEventRow[]> {
    const { rows } = await q.query<ExportSecurityEventRow>(
      'SELECT id, event, ip, user_agent, session_id, details, created_at FROM security_events WHERE user_id = $1 ORDER BY created_at, id',
      [userId],
    );
    return rows;
  }

  /** The mails sent or queued to the user: what and when, never their data (links carry one-time tokens). */
  async mailsOf(userId: string, q: Queryable = this.db): Promise<ExportMailRow[]> {
    const { rows } = await q.query<ExportMailRow>(
      'SELECT id, recipient, template, locale, status, created_at, sent_at FROM notifications WHERE user_id = $1 ORDER BY created_at, id',
      [userId],
    );
    return rows;
  }
}
