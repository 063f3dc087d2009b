/**
 * Account deletion (GDPR art. 17).
 *
 * - Request (`POST /api/v1/users/me/deletion`, step-up): every session ends at once, the purge is
 *   scheduled `graceHours` ahead and a mail carries a one-time cancel link (purpose `deletion_cancel`,
 *   valid until the purge). With `graceHours` 0 the account is purged in the request's transaction.
 *   While a deletion is pending the account cannot sign in (403 `account_deletion_pending`): the mailed
 *   link is the one way back, so a stolen password cannot undo or hasten anything.
 * - Cancel (`POST /api/v1/auth/deletion/cancel {token}`): the pending request goes; the person signs in again.
 * - Purge (a timer in every replica; FOR UPDATE SKIP LOCKED shares the due rows): one transaction per
 *   account deletes its mail log and its user row (sessions, tokens, security events cascade) and writes
 *   the `account_deleted` event into account_outbox, which the relay delivers to course-service.
 * Every step records its security event in its own transaction (the purge's go with the account).
 */
import { Poller } from '../../shared/utils/poller.js';
import type { Database, Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { Logger } from '../../shared/utils/logging.js';
import type { UserRow } from '../models/user.js';
import type { AccountOutboxRepository } from '../repository/account_outbox_repository.js';
import type { DeletionRepository } from '../repository/deletion_repository.js';
import type { SecurityEventRepository } from '../repository/security_event_repository.js';
import type { SessionRepository } from '../repository/session_repository.js';
import type { TokenRepository } from '../repository/token_repository.js';
import type { UserRepository } from '../repository/user_repository.js';
import type { RequestMeta } from './auth_service.js';
import type { NotificationService } from './notification_service.js';
import { requireRecentAuthentication } from './step_up.js';
import { hashOneTimeToken, newOneTimeToken, tokenLink } from './token_service.js';

export interface DeletionRules {
  graceHours: number;
  /** Page behind the cancel link (auth-service's own page unless a front end has one). */
  cancelLink: string;
  purgeIntervalMs: number;
  purgeBatchSize: number;
}

export interface DeletionServiceDeps {
  db: Database;
  /** Whether the account has a second factor on (step-up then needs aal2); absent = never. */
  mfaEnabled?: (userId: string) => Promise<boolean>;
  users: UserRepository;
  sessions: SessionRepository;
  tokens: TokenRepository;
  securityEvents: SecurityEventRepository;
  notifications: NotificationService;
  deletions: DeletionRepository;
  outbox: AccountOutboxRepository;
  rules: DeletionRules;
  logger: Logger;
  /** Called after a commit that wrote an outbox event (the relay then runs at once). */
  onEvent?: () => void;
}

const invalidLink = () => HttpError.badRequest('invalid_or_expired_token', 'The link is not valid or has expired');

export class DeletionService {
  /** The purge job: due accounts every `purgeIntervalMs`, on every replica (SKIP LOCKED shares them). */
  private readonly purger: Poller;

  constructor(private readonly d: DeletionServiceDeps) {
    this.purger = new Poller(() => this.purgeDue(), { intervalMs: d.rules.purgeIntervalMs, logger: d.logger, failure: 'account purge run failed' });
  }

  /** Schedules the deletion of the caller's account (or purges it now with a grace of 0 hours). */
  async request(principal: Principal, input: { eraseReviews?: boolean }, meta: RequestMeta): Promise<{ purgeAt: string }> {
    // No MFA table yet: when two-factor sign-in lands, pass whether the account has it on.
    requireRecentAuthentication(principal, { mfaEnabled: (await this.d.mfaEnabled?.(principal.sub)) ?? false });
    const eraseReviews = input.eraseReviews ?? false;
    const purgeAt = await this.d.db.transaction(async (tx) => {
      const user = await this.d.users.findForUpdate(principal.sub, tx);
      if (!user || user.disabled_at) throw HttpError.unauthorized('invalid_token', 'The account no longer exists');
      if (user.role === 'admin' && (await this.d.users.lockActiveAdmins(tx)) <= 1) {
        throw HttpError.conflict('last_admin', 'The last active admin cannot delete their account; make another admin first');
      }
      if (this.d.rules.graceHours === 0) {
        await this.purge(tx, user.id, eraseReviews);
        return new Date();
      }
      const row = await this.d.deletions.create(user.id, this.d.rules.graceHours, eraseReviews, tx);
      if (!row) throw HttpError.conflict('account_deletion_pending', 'The deletion of this account is already scheduled');
      await this.d.sessions.revokeAllForUser(user.id, 'account_deletion', {}, tx);
      await this.queueCancelMail(tx, user, row.purge_at);
      await this.d.securityEvents.record(
        {
          userId: user.id,
          event: 'deletion_requested',
          ip: meta.ip,
          userAgent: meta.userAgent,
          sessionId: principal.sid,
          details: { eraseReviews, purgeAt: row.purge_at.toISOString() },
        },
        tx,
      );
      return row.purge_at;
    });
    if (this.d.rules.graceHours === 0) this.d.onEvent?.();
    return { purgeAt: purgeAt.toISOString() };
  }

  private async queueCancelMail(tx: Queryable, user: UserRow, purgeAt: Date): Promise<void> {
    const { token, hash } = newOneTimeToken();
    const ttlSec = Math.max(1, Math.ceil((purgeAt.getTime() - Date.now()) / 1000));
    await this.d.tokens.create(hash, user.id, 'deletion_cancel', ttlSec, tx);
    await this.d.notifications.enqueue(tx, {
      userId: user.id,
      recipient: user.email,
      template: 'account_deletion_scheduled',
      locale: user.locale,
      data: { displayName: user.display_name, link: tokenLink(this.d.rules.cancelLink, token), purgeAt: purgeAt.toISOString() },
    });
  }

  /**
   * Cancels a pending deletion with the mailed token. The pending row is locked before the token is
   * used, in the purge's lock order (deletion row, then the tokens its cascade deletes), so a cancel
   * racing the purge waits for it and then finds nothing: the link no longer works.
   */
  async cancel(token: string, meta: RequestMeta): Promise<void> {
    const hash = hashOneTimeToken(token);
    await this.d.db.transaction(async (tx) => {
      const userId = await this.d.deletions.cancelTokenOwner(hash, tx);
      if (!userId) throw invalidLink();
      const pending = await this.d.deletions.findForUpdate(userId, tx);
      if (!pending) throw invalidLink();
      if (!(await this.d.tokens.consume(hash, 'deletion_cancel', tx))) throw invalidLink();
      await this.d.tokens.invalidateAll(userId, 'deletion_cancel', tx);
      await this.d.deletions.remove(userId, tx);
      await this.d.securityEvents.record({ userId, event: 'deletion_cancelled', ip: meta.ip, userAgent: meta.userAgent }, tx);
    });
  }

  /** The sign-in gate: an account whose deletion is pending gets no session. */
  async assertNotPending(userId: string): Promise<void> {
    if (await this.d.deletions.find(userId)) {
      throw HttpError.forbidden('account_deletion_pending', 'This account is scheduled for deletion; the link in the mail we sent cancels it');
    }
  }

  private async purge(tx: Queryable, userId: string, eraseReviews: boolean): Promise<void> {
    await this.d.outbox.addAccountDeleted(userId, eraseReviews, tx);
    await this.d.deletions.purgeUser(userId, tx);
  }

  /** Purges accounts whose grace period is over, one transaction each; returns how many. */
  async purgeDue(limit = this.d.rules.purgeBatchSize): Promise<number> {
    let purged = 0;
    while (purged < limit) {
      const done = await this.d.db.transaction(async (tx) => {
        const due = await this.d.deletions.claimDue(tx);
        if (!due) return false;
        await this.purge(tx, due.user_id, due.erase_reviews);
        return true;
      });
      if (!done) break;
      purged++;
    }
    if (purged) {
      this.d.logger.info({ purged }, 'accounts purged');
      this.d.onEvent?.();
    }
    return purged;
  }

  startPurger(): void {
    this.purger.start();
  }

  stopPurger(): Promise<void> {
    return this.purger.stop();
  }
}
