/** SQL for one-time tokens (verification, reset). Only hashes are stored. */
import type { Queryable } from '../../shared/utils/database.js';

export type TokenPurpose = 'verify_email' | 'password_reset';

export class TokenRepository {
  constructor(private readonly db: Queryable) {}

  async create(hash: Buffer, userId: string, purpose: TokenPurpose, ttlSec: number, tx: Queryable = this.db): Promise<void> {
    await tx.query(
      `INSERT INTO one_time_tokens (token_hash, user_id, purpose, expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [hash, userId, purpose, ttlSec],
    );
  }

  /** Uses a token once: returns its user when it is unused, unexpired and of this purpose. */
  async consume(hash: Buffer, purpose: TokenPurpose, tx: Queryable = this.db): Promise<string | undefined> {
    const { rows } = await tx.query<{ user_id: string }>(
      `UPDATE one_time_tokens SET used_at = now()
        WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
        RETURNING user_id`,
      [hash, purpose],
    );
    return rows[0]?.user_id;
  }

  /** Ends a user's open tokens of a purpose (a new reset link makes older ones useless). */
  async invalidateAll(userId: string, purpose: TokenPurpose, tx: Queryable = this.db): Promise<void> {
    await tx.query('UPDATE one_time_tokens SET used_at = now() WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL', [userId, purpose]);
  }

  /** Seconds since the newest token of this purpose was made for the user, or undefined. */
  async secondsSinceLast(userId: string, purpose: TokenPurpose, tx: Queryable = this.db): Promise<number | undefined> {
    const { rows } = await tx.query<{ age: number }>(
      `SELECT extract(epoch FROM now() - max(created_at))::float8 AS age FROM one_time_tokens WHERE user_id = $1 AND purpose = $2`,
      [userId, purpose],
    );
    const age = rows[0]?.age;
    return age === null || age === undefined ? undefined : Number(age);
  }
}
