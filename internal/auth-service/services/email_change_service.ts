/**
 * E-mail change. A signed-in user with a recent authentication asks for a new address;
 * the answer is 202 whether or not the address is taken (no enumeration): the per-account work runs
 * after the answer, so a taken address costs the same time as a free one, and the security event is
 * the same in both cases. A free address gets a confirm link; the current address an approve link and
 * a "this was not me" cancel link. Both confirmations, in either order, complete the change: the address
 * moves and counts as verified, the other sessions end, the old address gets a notice. A newer request
 * supersedes the pending one (its links are spent). A taken address gets a "someone tried to use this
 * address" mail and no request.
 */
import type { Database, Queryable } from '../../shared/utils/database.js';
import { PgCode, pgErrorCode } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { newId } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { Logger } from '../../shared/utils/logging.js';
import { normaliseEmail, type UserRow } from '../models/user.js';
import type { EmailChangeRow } from '../models/email_change.js';
import type { EmailChangeRepository } from '../repository/email_change_repository.js';
import type { SecurityEventRepository } from '../repository/security_event_repository.js';
import type { SessionRepository } from '../repository/session_repository.js';
import type { TokenRepository } from '../repository/token_repository.js';
import type { UserRepository } from '../repository/user_repository.js';
import type { RequestMeta } from './auth_service.js';
import type { NotificationService } from './notification_service.js';
import type { RateLimiter, Window } from './rate_limiter.js';
import { AfterAnswer } from './after_answer.js';
import { requireRecentAuthentication } from './step_up.js';
import { hashOneTimeToken, newOneTimeToken, tokenLink } from './token_service.js';

export interface EmailChangeRules {
  tokenTtlHours: number;
  links: { confirm: string; cancel: string; login: string };
  rateLimits: { mailsPerIp: Window; mailsPerEmail: Window };
}

export interface EmailChangeDeps {
  db: Database;
  users: UserRepository;
  sessions: SessionRepository;
  tokens: TokenRepository;
  changes: EmailChangeRepository;
  securityEvents: SecurityEventRepository;
  notifications: NotificationService;
  limiter: RateLimiter;
  rules: EmailChangeRules;
  logger: Logger;
  /** Whether the account has a second factor on (step-up then needs aal2); absent = never. */
  mfaEnabled?: (userId: string) => Promise<boolean>;
}

const invalidLink = () => HttpError.badRequest('invalid_or_expired_token', 'The link is not valid or has expired');
const emailTaken = () => HttpError.conflict('email_taken', 'The new address now belongs to another account; the change did not happen');

type ConfirmOutcome = { state: 'awaiting_other' } | { state: 'completed' } | { state: 'taken' };

export class EmailChangeService {
  /** The per-account work runs after the 202 (see AfterAnswer), so a taken address is not revealed by time. */
  private readonly later: AfterAnswer;

  constructor(private readonly d: EmailChangeDeps) {
    this.later = new AfterAnswer(d.logger, 'e-mail change request failed after its answer');
  }

  private afterAnswer(what: string, work: () => Promise<void>): void {
    this.later.run(what, work);
  }

  /** Resolves once the work started after earlier answers is done (shutdown; tests). */
  settled(): Promise<void> {
    return this.later.settled();
  }

  /**
   * POST /users/me/email. Checks that answer at once: step-up, the account, the same address, the
   * limits (per user, per IP, per new address). Everything that depends on who holds the new address
   * runs after the answer.
   */
  async request(principal: Principal, newEmailInput: string, meta: RequestMeta): Promise<void> {
    // With MFA on, the step-up must have been made with the second factor (aal2).
    requireRecentAuthentication(principal, { mfaEnabled: (await this.d.mfaEnabled?.(principal.sub)) ?? false });
    const user = await this.d.users.findById(principal.sub);
    if (!user || user.disabled_at) throw HttpError.unauthorized('invalid_token', 'The account no longer exists');
    const newEmail = normaliseEmail(newEmailInput);
    if (newEmail === user.email) throw HttpError.badRequest('email_unchanged', 'This is already the address of the account');
    const limits = this.d.rules.rateLimits;
    await this.d.limiter.hit('email-change-user', user.id, limits.mailsPerEmail);
    await this.d.limiter.hit('mail-ip', meta.ip, limits.mailsPerIp);
    await this.d.limiter.hit('mail-email', newEmail, limits.mailsPerEmail);
    this.afterAnswer('users/me/email', () => this.d.db.transaction(async (tx) => {
      // Serialises this user's requests: one pending request at most.
      const me = await this.d.users.findForUpdate(user.id, tx);
      if (!me || me.disabled_at) return;
      // The older request ends in both branches, so its links cannot tell a taken address from a free one.
      const superseded = await this.d.changes.supersedePending(me.id, tx);
      if (superseded) await this.d.changes.spendTokens(superseded, tx);
      // The same event in both branches: the owner's activity says nothing about the other address either.
      await this.d.securityEvents.record(
        { userId: me.id, event: 'email_change_requested', ip: meta.ip, userAgent: meta.userAgent, sessionId: principal.sid ?? null, details: { newEmail } },
        tx,
      );
      const holder = await this.d.users.findByEmail(newEmail, tx);
      if (holder) {
        if (holder.id !== me.id && !holder.disabled_at) await this.queueAddressInUse(tx, holder);
        return;
      }
      await this.startRequest(tx, me, newEmail, principal.sid ?? null);
    }));
  }

  private async startRequest(tx: Queryable, user: UserRow, newEmail: string, sessionId: string | null): Promise<void> {
    const ttlSec = this.d.rules.tokenTtlHours * 3600;
    const request = await this.d.changes.create({ id: newId(), userId: user.id, newEmail, sessionId, ttlSec }, tx);
    const details = { requestId: request.id, newEmail };
    const issue = async (purpose: 'email_change_new' | 'email_change_old' | 'email_change_cancel') => {
      const { token, hash } = newOneTimeToken();
      await this.d.changes.createToken(hash, user.id, purpose, ttlSec, details, tx);
      return token;
    };
    const confirmNew = await issue('email_change_new');
    const approveOld = await issue('email_change_old');
    const cancel = await issue('email_change_cancel');
    const common = { displayName: user.display_name, validMinutes: ttlSec / 60 };
    await this.d.notifications.enqueue(tx, {
      userId: user.id,
      recipient: newEmail,
      template: 'email_change_confirm_new',
      locale: user.locale,
      data: { ...common, link: tokenLink(this.d.rules.links.confirm, confirmNew) },
    });
    await this.d.notifications.enqueue(tx, {
      userId: user.id,
      recipient: user.email,
      template: 'email_change_approve_old',
      locale: user.locale,
      data: { ...common, newEmail, link: tokenLink(this.d.rules.links.confirm, approveOld), cancelLink: tokenLink(this.d.rules.links.cancel, cancel) },
    });
  }

  private async queueAddressInUse(tx: Queryable, holder: UserRow): Promise<void> {
    await this.d.notifications.enqueue(tx, {
      userId: holder.id,
      recipient: holder.email,
      template: 'email_change_address_in_use',
      locale: holder.locale,
      data: { displayName: holder.display_name, loginLink: this.d.rules.links.login },
    });
  }

  /**
   * POST /auth/email-change/confirm: the confirm link of the new address or the approve link of the old
   * one, in either order. The second completes the change. A race where the address was taken after the
   * request answers 409 `email_taken` (only to a holder of a link of this very request) and ends it.
   */
  async confirm(token: string, meta: RequestMeta): Promise<{ state: 'awaiting_other' | 'completed' }> {
    let outcome: ConfirmOutcome;
    try {
      outcome = await this.d.db.transaction((tx) => this.confirmIn(tx, token, meta));
    } catch (err) {
      // Someone registered or moved to the address between our check and the update: the transaction
      // rolled back (the link is not spent); the next try finds the holder and ends the request.
      if (pgErrorCode(err) === PgCode.uniqueViolation) throw emailTaken();
      throw err;
    }
    if (outcome.state === 'taken') throw emailTaken();
    return outcome;
  }

  private async confirmIn(tx: Queryable, token: string, meta: RequestMeta): Promise<ConfirmOutcome> {
    const used = await this.d.changes.consumeToken(hashOneTimeToken(token), ['email_change_new', 'email_change_old'], tx);
    if (!used) throw invalidLink();
    // Locks in the order a new request takes them (the user, then the request), so the two never deadlock.
    const user = await this.d.users.findForUpdate(used.userId, tx);
    if (!user || user.disabled_at) throw invalidLink();
    const request = await this.liveRequest(tx, used.details.requestId, used.userId);
    const row = await this.d.changes.confirmSide(request.id, used.purpose === 'email_change_new' ? 'new' : 'old', tx);
    if (!row.old_confirmed_at || !row.new_confirmed_at) return { state: 'awaiting_other' };

    const holder = await this.d.users.findByEmail(row.new_email, tx);
    if (holder && holder.id !== user.id) {
      await this.d.changes.finish(row.id, 'failed', tx);
      await this.d.changes.spendTokens(row.id, tx);
      return { state: 'taken' };
    }
    await this.complete(tx, user, row, meta);
    return { state: 'completed' };
  }

  private async liveRequest(tx: Queryable, requestId: string, userId: string): Promise<EmailChangeRow> {
    const request = await this.d.changes.findForUpdate(requestId, tx);
    if (!request || request.user_id !== userId || request.status !== 'pending' || request.expires_at <= new Date()) throw invalidLink();
    return request;
  }

  private async complete(tx: Queryable, user: UserRow, request: EmailChangeRow, meta: RequestMeta): Promise<void> {
    const oldEmail = user.email;
    await this.d.changes.applyToUser(user.id, request.new_email, tx);
    await this.d.changes.finish(request.id, 'completed', tx);
    await this.d.changes.spendTokens(request.id, tx);
    // Links mailed to the old address (verification, reset) must not outlive the move.
    await this.d.tokens.invalidateAll(user.id, 'verify_email', tx);
    await this.d.tokens.invalidateAll(user.id, 'password_reset', tx);
    await this.d.sessions.revokeAllForUser(user.id, 'email_changed', { exceptId: request.session_id ?? undefined }, tx);
    await this.d.securityEvents.record(
      { userId: user.id, event: 'email_changed', ip: meta.ip, userAgent: meta.userAgent, details: { oldEmail, newEmail: request.new_email } },
      tx,
    );
    await this.d.notifications.enqueue(tx, {
      userId: user.id,
      recipient: oldEmail,
      template: 'email_changed',
      locale: user.locale,
      data: { displayName: user.display_name, newEmail: request.new_email, changedAt: new Date().toISOString(), loginLink: this.d.rules.links.login },
    });
  }

  /**
   * POST /auth/email-change/cancel: "this was not me" from the old address. The request ends, its links
   * are spent, and every session of the account ends (whoever asked had a session).
   */
  async cancel(token: string, meta: RequestMeta): Promise<{ state: 'cancelled' }> {
    return this.d.db.transaction(async (tx) => {
      const used = await this.d.changes.consumeToken(hashOneTimeToken(token), ['email_change_cancel'], tx);
      if (!used) throw invalidLink();
      await this.d.users.findForUpdate(used.userId, tx);
      const request = await this.liveRequest(tx, used.details.requestId, used.userId);
      await this.d.changes.finish(request.id, 'cancelled', tx);
      await this.d.changes.spendTokens(request.id, tx);
      await this.d.sessions.revokeAllForUser(request.user_id, 'email_change_cancelled', {}, tx);
      await this.d.securityEvents.record(
        { userId: request.user_id, event: 'email_change_cancelled', ip: meta.ip, userAgent: meta.userAgent, details: { newEmail: request.new_email } },
        tx,
      );
      return { state: 'cancelled' as const };
    });
  }
}
