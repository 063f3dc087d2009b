/** SQL for user_identities (identities at OpenID Connect providers). */
import type { Queryable } from '../../shared/utils/database.js';
import type { IdentityRow } from '../models/identity.js';

export class IdentityRepository {
  constructor(private readonly db: Queryable) {}

  /** Links an identity; null when (provider, subject) is already linked (to anyone). */
  async create(identity: { id: string; userId: string; provider: string; subject: string; email: string | null }, q: Queryable = this.db): Promise<IdentityRow | null> {
    const { rows } = await q.query<IdentityRow>(
      `INSERT INTO user_identities (id, user_id, provider, subject, email, last_used_at)
       VALUES ($1, $2, $3, $4, $5, now())
       ON CONFLICT (provider, subject) DO NOTHING
       RETURNING *`,
      [identity.id, identity.userId, identity.provider, identity.subject, identity.email],
    );
    return rows[0] ?? null;
  }

  async findByProviderSubject(provider: string, subject: string, q: Queryable = this.db): Promise<IdentityRow | null> {
    const { rows } = await q.query<IdentityRow>('SELECT * FROM user_identities WHERE provider = $1 AND subject = $2', [provider, subject]);
    return rows[0] ?? null;
  }

  async listForUser(userId: string, q: Queryable = this.db): Promise<IdentityRow[]> {
    const { rows } = await q.query<IdentityRow>('SELECT * FROM user_identities WHERE user_id = $1 ORDER BY created_at, id', [userId]);
    return rows;
  }

  async touch(id: string, q: Queryable = this.db): Promise<void> {
    await q.query('UPDATE user_identities SET last_used_at = now() WHERE id = $1', [id]);
  }

  /** Deletes the user's identity `id`; null when the user has no identity with that id. */
  async delete(userId: string, id: string, q: Queryable = this.db): Promise<IdentityRow | null> {
    const { rows } = await q.query<IdentityRow>('DELETE FROM user_identities WHERE id = $1 AND user_id = $2 RETURNING *', [id, userId]);
    return rows[0] ?? null;
  }
}
