/** A user's own profile and sessions, and the admin's view of all users. */
import type { Database } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { checkIfMatch, etagOf } from '../../shared/utils/etag.js';
import { newId } from '../../shared/utils/ids.js';
import type { Principal, UserRole } from '../../shared/utils/jwt.js';
import { decodeCursor, keysetPage } from '../../shared/utils/cursor.js';
import { normaliseEmail, toAdminUser, toProfile, type AdminUser, type Locale, type Profile } from '../models/user.js';
import { toSessionView, type SessionView } from '../models/session.js';
import type { SessionRepository } from '../repository/session_repository.js';
import type { UserRepository } from '../repository/user_repository.js';
import type { UnsubscribeTopic } from './unsubscribe_tokens.js';
import type { SecurityEventRepository } from '../repository/security_event_repository.js';
import type { RequestMeta } from './auth_service.js';
import { passwordProblem, type PasswordHasher } from './password_hasher.js';

const DEFAULT_PAGE = 20;

export class UserService {
  constructor(
    private readonly db: Database,
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly hasher: PasswordHasher,
    private readonly securityEvents: SecurityEventRepository,
  ) {}

  private async self(principal: Principal) {
    const user = await this.users.findById(principal.sub);
    if (!user || user.disabled_at) throw HttpError.unauthorized('invalid_token', 'The account no longer exists');
    return user;
  }

  async getProfile(principal: Principal): Promise<Profile> {
    return toProfile(await this.self(principal));
  }

  /** Changes the caller's own profile; with `ifMatch`, only if it is still the version they read (412). */
  async updateProfile(
    principal: Principal,
    patch: { displayName?: string; locale?: Locale; preferences?: { reviewEmails?: boolean; announcementEmails?: boolean } },
    ifMatch?: string,
  ): Promise<Profile> {
    return this.db.transaction(async (tx) => {
      const current = await this.users.findForUpdate(principal.sub, tx);
      if (!current || current.disabled_at) throw HttpError.unauthorized('invalid_token', 'The account no longer exists');
      checkIfMatch(ifMatch, etagOf(toProfile(current)));
      const row = await this.users.updateProfile(
        principal.sub,
        {
          displayName: patch.displayName?.trim(),
          locale: patch.locale,
          notifyReviews: patch.preferences?.reviewEmails,
          notifyAnnouncements: patch.preferences?.announcementEmails,
        },
        tx,
      );
      return toProfile(row!);
    });
  }

  /** One-click unsubscribe from one kind of mail (the token, from the mail's link, names the user and the topic). */
  async unsubscribe(target: { userId: string; topic: UnsubscribeTopic } | undefined): Promise<void> {
    const patch = target?.topic === 'announcements' ? { notifyAnnouncements: false } : { notifyReviews: false };
    const row = target ? await this.users.updateProfile(target.userId, patch) : null;
    if (!row) throw HttpError.badRequest('invalid_or_expired_token', 'This unsubscribe link is not valid');
  }

  async listSessions(principal: Principal): Promise<SessionView[]> {
    return (await this.sessions.listActive(principal.sub)).map((s) => toSessionView(s, principal.sid));
  }

  /** Ends one of the caller's own sessions; someone else's is "not found", not "forbidden". */
  async revokeSession(principal: Principal, sessionId: string, meta?: RequestMeta): Promise<void> {
    await this.db.transaction(async (tx) => {
      const session = await this.sessions.findForUpdate(sessionId, tx);
      if (!session || session.user_id !== principal.sub || session.revoked_at) throw HttpError.notFound('session_not_found');
      await this.sessions.revoke(sessionId, 'revoked_by_user', tx);
      // `sessionId` is the session that ended; `details.by` the one that ended it.
      await this.securityEvents.record(
        { userId: principal.sub, event: 'session_revoked', ip: meta?.ip, userAgent: meta?.userAgent, sessionId, details: { by: 'user', bySessionId: principal.sid ?? null } },
        tx,
      );
    });
  }

  async adminList(query: { q?: string; role?: UserRole; limit?: number; cursor?: string }): Promise<{ items: AdminUser[]; nextCursor: string | null }> {
    const limit = query.limit ?? DEFAULT_PAGE;
    const afterId = decodeCursor(query.cursor, 'users', ['uuid'])?.[0] as string | undefined;
    const rows = await this.users.search({ q: query.q, role: query.role, afterId, limit: limit + 1 });
    return keysetPage(rows, limit, 'users', toAdminUser, (row) => [row.id]);
  }

  /** Changes a role or disables an account (which ends its sessions); the last admin stays an admin. */
  async adminUpdate(admin: Principal, userId: string, patch: { role?: UserRole; disabled?: boolean }, ifMatch?: string): Promise<AdminUser> {
    return this.db.transaction(async (tx) => {
      // A change that may take an admin away counts the admins under their row locks, taken before the
      // target's lock (see lockActiveAdmins).
      const mayLoseAdmin = (patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true;
      const admins = mayLoseAdmin ? await this.users.lockActiveAdmins(tx) : Infinity;
      const user = await this.users.findForUpdate(userId, tx);
      if (!user) throw HttpError.notFound('user_not_found');
      checkIfMatch(ifMatch, etagOf(toAdminUser(user)));
      const losesAdmin = user.role === 'admin' && !user.disabled_at && mayLoseAdmin;
      if (losesAdmin && admins <= 1) {
        throw HttpError.conflict('last_admin', 'The last admin cannot be demoted or disabled');
      }
      const updated = await this.users.adminUpdate(userId, patch, tx);
      if (patch.disabled) await this.sessions.revokeAllForUser(userId, `disabled_by:${admin.sub}`, {}, tx);
      // Security activity of the account: an admin turned it off or on (no event when nothing changed).
      const wasDisabled = user.disabled_at !== null;
      if (patch.disabled !== undefined && patch.disabled !== wasDisabled) {
        await this.securityEvents.record(
          { userId, event: patch.disabled ? 'account_disabled' : 'account_enabled', details: { by: 'admin', adminId: admin.sub } },
          tx,
        );
      }
      return toAdminUser(updated!);
    });
  }

  async adminRevokeSessions(admin: Principal, userId: string): Promise<number> {
    return this.db.transaction(async (tx) => {
      const user = await this.users.findById(userId, tx);
      if (!user) throw HttpError.notFound('user_not_found');
      const ended = await this.sessions.revokeAllForUser(userId, 'revoked_by_admin', {}, tx);
      if (ended > 0) {
        await this.securityEvents.record({ userId, event: 'session_revoked', details: { by: 'admin', adminId: admin.sub, ended } }, tx);
      }
      return ended;
    });
  }

  /** Makes sure an admin with this e-mail exists (created verified); an existing user is promoted. */
  async ensureAdmin(emailInput: string, password: string, displayName = 'Administrator'): Promise<{ created: boolean }> {
    const email = normaliseEmail(emailInput);
    const problem = passwordProblem(password, [email]);
    if (problem) throw new Error(`Admin password ${problem}`);
    const existing = await this.users.findByEmail(email);
    if (existing) {
      if (existing.role !== 'admin') await this.users.adminUpdate(existing.id, { role: 'admin' });
      return { created: false };
    }
    const created = await this.users.create({
      id: newId(),
      email,
      passwordHash: await this.hasher.hash(password),
      displayName,
      locale: 'en',
      role: 'admin',
      verified: true,
    });
    return { created: created !== null };
  }
}

/** A users cursor names the last id of a page; anything else (a forged cursor) is 400, not a cast error. */
