/** SQL for two-factor sign-in and known devices (migration 0006). Style: docs/ARCHITECTURE.md, "Data layer". */
import type { Queryable } from '../../shared/utils/database.js';
import type { MfaChallengeRow, MfaFactorRow } from '../models/mfa.js';

export class MfaRepository {
  constructor(private readonly db: Queryable) {}

  async createFactor(f: { id: string; userId: string; secretEnc: Buffer }, q: Queryable = this.db): Promise<MfaFactorRow> {
    const { rows } = await q.query<MfaFactorRow>(
      `INSERT INTO mfa_factors (id, user_id, secret_enc) VALUES ($1, $2, $3) RETURNING *`,
      [f.id, f.userId, f.secretEnc],
    );
    return rows[0]!;
  }

  async listFactors(userId: string, q: Queryable = this.db): Promise<MfaFactorRow[]> {
    const { rows } = await q.query<MfaFactorRow>('SELECT * FROM mfa_factors WHERE user_id = $1 ORDER BY created_at, id', [userId]);
    return rows;
  }

  /** The user's factor with this id (another user's is "not found"). */
  async findFactor(userId: string, id: string, q: Queryable = this.db): Promise<MfaFactorRow | null> {
    const { rows } = await q.query<MfaFactorRow>('SELECT * FROM mfa_factors WHERE id = $1 AND user_id = $2', [id, userId]);
    return rows[0] ?? null;
  }

  async findActiveFactor(userId: string, q: Queryable = this.db): Promise<MfaFactorRow | null> {
    const { rows } = await q.query<MfaFactorRow>('SELECT * FROM mfa_factors WHERE user_id = $1 AND activated_at IS NOT NULL', [userId]);
    return rows[0] ?? null;
  }

  async hasActiveFactor(userId: string, q: Queryable = this.db): Promise<boolean> {
    const { rows } = await q.query<{ on: boolean }>('SELECT EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = $1 AND activated_at IS NOT NULL) AS on', [userId]);
    return rows[0]?.on ?? false;
  }

  /** Enrolments never confirmed: a new enrolment replaces them. */
  async deletePendingFactors(userId: string, q: Queryable = this.db): Promise<void> {
    await q.query('DELETE FROM mfa_factors WHERE user_id = $1 AND activated_at IS NULL', [userId]);
  }

  /**
   * Records `step` as used when it is later than the last used one, in one statement: of two requests
   * with the same code, one gets the row and the other nothing. `activate` also switches a pending
   * factor on (in the same statement). Returns whether the code was taken.
   */
  async useStep(factorId: string, step: number, options: { activate?: boolean } = {}, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query(
      `UPDATE mfa_factors
          SET last_used_step = $2, last_used_at = now(),
              activated_at = CASE WHEN $3::boolean THEN now() ELSE activated_at END
        WHERE id = $1 AND last_used_step < $2
          AND (CASE WHEN $3::boolean THEN activated_at IS NULL ELSE activated_at IS NOT NULL END)
        RETURNING id`,
      [factorId, step, options.activate ?? false],
    );
    return rowCount > 0;
  }

  async deleteFactor(userId: string, id: string, q: Queryable = this.db): Promise<MfaFactorRow | null> {
    const { rows } = await q.query<MfaFactorRow>('DELETE FROM mfa_factors WHERE id = $1 AND user_id = $2 RETURNING *', [id, userId]);
    return rows[0] ?? null;
  }

  /** Replaces the user's recovery codes with these hashes. */
  async replaceRecoveryCodes(userId: string, hashes: Buffer[], q: Queryable = this.db): Promise<void> {
    await q.query('DELETE FROM mfa_recovery_codes WHERE user_id = $1', [userId]);
    await q.query(
      'INSERT INTO mfa_recovery_codes (user_id, code_hash) SELECT $1, h FROM unnest($2::bytea[]) AS h',
      [userId, hashes],
    );
  }

  async deleteRecoveryCodes(userId: string, q: Queryable = this.db): Promise<void> {
    await q.query('DELETE FROM mfa_recovery_codes WHERE user_id = $1', [userId]);
  }

  /** Uses a recovery code once: true when it was the user's and unused. */
  async useRecoveryCode(userId: string, hash: Buffer, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query(
      'UPDATE mfa_recovery_codes SET used_at = now() WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL RETURNING user_id',
      [userId, hash],
    );
    return rowCount > 0;
  }

  async countRecoveryCodes(userId: string, q: Queryable = this.db): Promise<number> {
    const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [userId]);
    return rows[0]?.n ?? 0;
  }

  async createChallenge(
    c: { id: string; tokenHash: Buffer; userId: string; amr: string[]; event: string; ip: string | null; userAgent: string | null; ttlSec: number },
    q: Queryable = this.db,
  ): Promise<void> {
    await q.query(
      `INSERT INTO mfa_challenges (id, token_hash, user_id, amr, event, ip, user_agent, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now() + make_interval(secs => $8))`,
      [c.id, c.tokenHash, c.userId, c.amr, c.event, c.ip, c.userAgent?.slice(0, 300) ?? null, c.ttlSec],
    );
  }

  /** A live (unused, unexpired) challenge by its token's hash. */
  async findLiveChallenge(tokenHash: Buffer, q: Queryable = this.db): Promise<MfaChallengeRow | null> {
    const { rows } = await q.query<MfaChallengeRow>(
      'SELECT * FROM mfa_challenges WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()',
      [tokenHash],
    );
    return rows[0] ?? null;
  }

  /** Spends a challenge: true for the one request that gets it while it is live. */
  async consumeChallenge(id: string, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query(
      'UPDATE mfa_challenges SET used_at = now() WHERE id = $1 AND used_at IS NULL AND expires_at > now() RETURNING id',
      [id],
    );
    return rowCount > 0;
  }

  /** Challenges ended a day ago or more (housekeeping at each new one, cheap with the index). */
  async deleteOldChallenges(q: Queryable = this.db): Promise<void> {
    await q.query("DELETE FROM mfa_challenges WHERE expires_at < now() - interval '1 day'");
  }

  /**
   * Marks a device as seen now and says what was known before: whether the user had any device
   * recorded, and when this one was last seen (null: never).
   */
  async touchDevice(userId: string, deviceHash: Buffer, q: Queryable = this.db): Promise<{ hadAny: boolean; lastSeenAt: Date | null }> {
    const { rows } = await q.query<{ had_any: boolean; last_seen_at: Date | null }>(
      `SELECT EXISTS (SELECT 1 FROM known_devices WHERE user_id = $1) AS had_any,
              (SELECT last_seen_at FROM known_devices WHERE user_id = $1 AND device_hash = $2) AS last_seen_at`,
      [userId, deviceHash],
    );
    await q.query(
      `INSERT INTO known_devices (user_id, device_hash) VALUES ($1, $2)
       ON CONFLICT (user_id, device_hash) DO UPDATE SET last_seen_at = now()`,
      [userId, deviceHash],
    );
    return { hadAny: rows[0]?.had_any ?? false, lastSeenAt: rows[0]?.last_seen_at ?? null };
  }
}
