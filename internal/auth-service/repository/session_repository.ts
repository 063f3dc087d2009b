/** SQL for sessions (one row per login, holding the refresh-token generation). */
import type { Queryable } from '../../shared/utils/database.js';
import type { SessionRow } from '../models/session.js';

export class SessionRepository {
  constructor(private readonly db: Queryable) {}

  async create(
    s: {
      id: string;
      userId: string;
      secret: Buffer;
      userAgent: string | null;
      ip: string | null;
      ttlDays: number;
      maxDays: number;
      aal?: 'aal1' | 'aal2';
      amr?: string[];
    },
    q: Queryable = this.db,
  ): Promise<SessionRow> {
    const { rows } = await q.query<SessionRow>(
      `INSERT INTO sessions (id, user_id, secret, user_agent, ip, expires_at, aal, amr)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(days => LEAST($6::int, $7::int)), $8, $9)
       RETURNING *`,
      [s.id, s.userId, s.secret, s.userAgent, s.ip, s.ttlDays, s.maxDays, s.aal ?? 'aal1', s.amr ?? ['pwd']],
    );
    return rows[0]!;
  }

  async findById(id: string, q: Queryable = this.db): Promise<SessionRow | null> {
    const { rows } = await q.query<SessionRow>('SELECT * FROM sessions WHERE id = $1', [id]);
    return rows[0] ?? null;
  }

  /** findById that locks the row until `tx` ends (a refresh rotates under it). */
  async findForUpdate(id: string, tx: Queryable): Promise<SessionRow | null> {
    const { rows } = await tx.query<SessionRow>('SELECT * FROM sessions WHERE id = $1 FOR UPDATE', [id]);
    return rows[0] ?? null;
  }

  /** What each authenticated request checks: the session is alive and the account's role and state. */
  async findLiveWithUser(id: string, q: Queryable = this.db): Promise<{ user_id: string; role: string; disabled: boolean } | null> {
    const { rows } = await q.query<{ user_id: string; role: string; disabled: boolean }>(
      `SELECT s.user_id, u.role, u.disabled_at IS NOT NULL AS disabled
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Moves the session to the next generation; extends its idle life, never past its absolute end. */
  async rotate(
    id: string,
    lifetime: { ttlDays: number; maxDays: number },
    meta: { userAgent: string | null; ip: string | null },
    q: Queryable = this.db,
  ): Promise<SessionRow> {
    const { rows } = await q.query<SessionRow>(
      `UPDATE sessions SET generation = generation + 1, rotated_at = now(), last_used_at = now(),
              expires_at = LEAST(now() + make_interval(days => $2), created_at + make_interval(days => $3)),
              user_agent = COALESCE($4, user_agent), ip = COALESCE($5, ip)
        WHERE id = $1 RETURNING *`,
      [id, lifetime.ttlDays, lifetime.maxDays, meta.userAgent, meta.ip],
    );
    return rows[0]!;
  }

  /**
   * The holder of a live session proved who they are again (re-authentication, MFA enrolment): moves
   * `authenticated_at` to now with the assurance of that proof. Null when the session is not the
   * user's or has ended.
   */
  async reauthenticated(id: string, userId: string, assurance: { aal: 'aal1' | 'aal2'; amr: string[] }, q: Queryable = this.db): Promise<SessionRow | null> {
    const { rows } = await q.query<SessionRow>(
      `UPDATE sessions SET authenticated_at = now(), aal = $3, amr = $4
        WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > now() RETURNING *`,
      [id, userId, assurance.aal, assurance.amr],
    );
    return rows[0] ?? null;
  }

  async revoke(id: string, reason: string, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query(
      'UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL',
      [id, reason],
    );
    return rowCount > 0;
  }

  /** Revokes a user's sessions, optionally keeping one; returns how many ended. */
  async revokeAllForUser(userId: string, reason: string, options: { exceptId?: string } = {}, q: Queryable = this.db): Promise<number> {
    const { rowCount } = await q.query(
      `UPDATE sessions SET revoked_at = now(), revoked_reason = $2
        WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3)`,
      [userId, reason, options.exceptId ?? null],
    );
    return rowCount;
  }

  async listActive(userId: string, q: Queryable = this.db): Promise<SessionRow[]> {
    const { rows } = await q.query<SessionRow>(
      `SELECT * FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
        ORDER BY created_at DESC LIMIT 100`,
      [userId],
    );
    return rows;
  }
}
