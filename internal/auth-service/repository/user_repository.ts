/** SQL for users, in the repository style of docs/ARCHITECTURE.md ("Data layer"). */
import type { Queryable } from '../../shared/utils/database.js';
import type { UserRole } from '../../shared/utils/jwt.js';
import type { Locale, UserRow } from '../models/user.js';

export interface NewUser {
  id: string;
  email: string;
  /** null: an account made by an identity provider, without a password. */
  passwordHash: string | null;
  displayName: string;
  locale: Locale;
  role?: UserRole;
  verified?: boolean;
}

export class UserRepository {
  constructor(private readonly db: Queryable) {}

  /**
   * Inserts a user; `null` when the e-mail is taken (a normal outcome: registration answers the same
   * either way). ON CONFLICT rather than catching the unique violation: inside a transaction a failed
   * INSERT aborts it, and the caller still has work to do there.
   */
  async create(user: NewUser, q: Queryable = this.db): Promise<UserRow | null> {
    const { rows } = await q.query<UserRow>(
      `INSERT INTO users (id, email, password_hash, display_name, locale, role, email_verified_at)
       VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::boolean THEN now() END)
       ON CONFLICT (email) DO NOTHING
       RETURNING *`,
      [user.id, user.email, user.passwordHash, user.displayName, user.locale, user.role ?? 'student', user.verified ?? false],
    );
    return rows[0] ?? null;
  }

  async findByEmail(email: string, q: Queryable = this.db): Promise<UserRow | null> {
    const { rows } = await q.query<UserRow>('SELECT * FROM users WHERE email = $1', [email]);
    return rows[0] ?? null;
  }

  async findById(id: string, q: Queryable = this.db): Promise<UserRow | null> {
    const { rows } = await q.query<UserRow>('SELECT * FROM users WHERE id = $1', [id]);
    return rows[0] ?? null;
  }

  /** findById that locks the row until `tx` ends. */
  async findForUpdate(id: string, tx: Queryable): Promise<UserRow | null> {
    const { rows } = await tx.query<UserRow>('SELECT * FROM users WHERE id = $1 FOR UPDATE', [id]);
    return rows[0] ?? null;
  }

  async updateProfile(
    id: string,
    patch: { displayName?: string; locale?: Locale; notifyReviews?: boolean; notifyAnnouncements?: boolean },
    q: Queryable = this.db,
  ): Promise<UserRow | null> {
    const { rows } = await q.query<UserRow>(
      `UPDATE users SET
         display_name = COALESCE($2, display_name),
         locale = COALESCE($3, locale),
         notify_reviews = COALESCE($4, notify_reviews),
         notify_announcements = COALESCE($5, notify_announcements),
         updated_at = now()
       WHERE id = $1 RETURNING *`,
      [id, patch.displayName ?? null, patch.locale ?? null, patch.notifyReviews ?? null, patch.notifyAnnouncements ?? null],
    );
    return rows[0] ?? null;
  }

  async setPassword(id: string, passwordHash: string, q: Queryable = this.db): Promise<void> {
    await q.query('UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1', [id, passwordHash]);
  }

  async markVerified(id: string, q: Queryable = this.db): Promise<UserRow | null> {
    const { rows } = await q.query<UserRow>(
      'UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()), updated_at = now() WHERE id = $1 RETURNING *',
      [id],
    );
    return rows[0] ?? null;
  }

  async adminUpdate(id: string, patch: { role?: UserRole; disabled?: boolean }, q: Queryable = this.db): Promise<UserRow | null> {
    const { rows } = await q.query<UserRow>(
      `UPDATE users SET
         role = COALESCE($2, role),
         disabled_at = CASE WHEN $3::boolean IS NULL THEN disabled_at
                            WHEN $3::boolean THEN COALESCE(disabled_at, now())
                            ELSE NULL END,
         updated_at = now()
       WHERE id = $1 RETURNING *`,
      [id, patch.role ?? null, patch.disabled ?? null],
    );
    return rows[0] ?? null;
  }

  /** Admin search: e-mail or name contains `q`, optional role; keyset pages by id. */
  async search(filter: { q?: string; role?: UserRole; afterId?: string; limit: number }, q: Queryable = this.db): Promise<UserRow[]> {
    const like = filter.q ? `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    const { rows } = await q.query<UserRow>(
      `SELECT * FROM users
        WHERE ($1::text IS NULL OR email ILIKE $1 OR display_name ILIKE $1)
          AND ($2::text IS NULL OR role = $2)
          AND ($3::uuid IS NULL OR id > $3)
        ORDER BY id
        LIMIT $4`,
      [like, filter.role ?? null, filter.afterId ?? null, filter.limit],
    );
    return rows;
  }

  /**
   * Locks every active admin's row (in id order, so two callers queue instead of deadlocking) and
   * returns how many there are. Counting under these locks is what keeps the last admin: two admins
   * demoting each other at once would otherwise both count two and leave none.
   */
  async lockActiveAdmins(tx: Queryable): Promise<number> {
    const { rows } = await tx.query<{ id: string }>(
      "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id FOR UPDATE",
    );
    return rows.length;
  }
}
