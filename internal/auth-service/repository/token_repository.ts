/** SQL for one-time tokens (verification, reset). Only hashes are stored. Style: docs/ARCHITECTURE.md, "Data layer". */
import type { Queryable } from '../../shared/utils/database.js';

export type TokenPurpose =
  | 'verify_email'
  | 'password_reset'
  | 'email_change_new'
  | 'email_change_old'
  | 'email_change_cancel'
  | 'deletion_cancel'
  | 'not_me';

export class TokenRepository {
  constructor(private readonly db: Queryable) {}

  async create(hash: Buffer, userId: string, purpose: TokenPurpose, ttlSec: number, q: Queryable = this.db): Promise<void> {
    await q.query(
      `INSERT INTO one_time_tokens (token_hash, user_id, purpose, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [hash, userId, purpose, ttlSec],
    );
  }

  /** Uses a token once: returns its user when it is unused, unexpired and of this purpose. */
  async consume(hash: Buffer, purpose: TokenPurpose, q: Queryable = this.db): Promise<string | null> {
    const { rows } = await q.query<{ user_id: string }>(
      `UPDATE one_time_tokens SET used_at = now()
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING user_id`,
      [hash, purpose],
    );
    return rows[0]?.user_id ?? null;
  }

  /** Ends a user's open tokens of a purpose (a new reset link makes older ones useless). */
  async invalidateAll(userId: string, purpose: TokenPurpose, q: Queryable = this.db): Promise<void> {
    await q.query('UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL', [userId, purpose]);
  }

  /** Seconds since the newest token of this purpose was made for the user, or null. */
  async secondsSinceLast(userId: string, purpose: TokenPurpose, q: Queryable = this.db): Promise<number | null> {
    const { rows } = await q.query<{ age: number }>(
      `SELECT extract(epoch FROM now() - max(created_at))::float8 AS age FROM one_time_tokens WHERE user_id = $1 AND purpose = $2`,
      [userId, purpose],
    );
    const age = rows[0]?.age;
    return age === null || age === undefined ? null : Number(age);
  }
}
