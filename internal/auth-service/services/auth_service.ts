/**
 * The account rules: registration without account enumeration, login, sessions with rotating refresh
 * tokens and reuse detection, logout scopes, e-mail verification, password reset and change, and the
 * client_credentials grant. Every mail is queued in the transaction of the change that causes it.
 */
import { randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { newId } from '../../shared/utils/ids.js';
import type { Aal, Principal } from '../../shared/utils/jwt.js';
import type { Logger } from '../../shared/utils/logging.js';
import { normaliseEmail, toUser, type Locale, type User, type UserRow } from '../models/user.js';
import type { SecurityEventName } from '../models/security_event.js';
import type { SessionRow } from '../models/session.js';
import type { MfaChallenge } from '../models/mfa.js';
import type { SecurityEventRepository } from '../repository/security_event_repository.js';
import type { SessionRepository } from '../repository/session_repository.js';
import type { TokenRepository } from '../repository/token_repository.js';
import type { UserRepository } from '../repository/user_repository.js';
import type { NotificationService } from './notification_service.js';
import { passwordProblem, type PasswordHasher } from './password_hasher.js';
import type { RateLimiter, Window } from './rate_limiter.js';
import { AfterAnswer } from './after_answer.js';
import { hashOneTimeToken, newOneTimeToken, tokenLink, secretsEqual, type TokenService } from './token_service.js';

export interface RequestMeta {
  ip: string;
  userAgent: string | null;
}

export interface TokenPair {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken: string;
  user: User;
}

/**
 * The MFA gate (services/mfa_service.ts): answers a challenge instead of a session when the account
 * has two-factor sign-in on, else null.
 */
export interface MfaGate {
  challengeFor(user: UserRow, meta: RequestMeta, firstFactor: { amr: string[]; event?: SecurityEventName }): Promise<MfaChallenge | null>;
}

/** Notes the device of each new session, in its transaction (services/new_device.ts: the new-device mail). */
export interface DeviceTracker {
  seen(tx: Queryable, user: UserRow, meta: RequestMeta, sessionId: string): Promise<void>;
}

/** What a sign-in answers: the token pair, or the MFA challenge. */
export type SignInResult = TokenPair | MfaChallenge;

export interface AuthRules {
  requireEmailVerification: boolean;
  verificationResendIntervalSec: number;
  verifyTokenTtlHours: number;
  resetTokenTtlMinutes: number;
  refreshTokenTtlDays: number;
  sessionMaxLifetimeDays: number;
  reuseGraceSec: number;
  links: { verifyEmail: string; resetPassword: string; login: string };
  rateLimits: {
    loginFailuresPerEmailIp: Window;
    loginFailuresPerIp: Window;
    registrationsPerIp: Window;
    mailsPerIp: Window;
    mailsPerEmail: Window;
  };
  clients: { id: string; secret: string }[];
}

export interface AuthServiceDeps {
  db: Database;
  users: UserRepository;
  sessions: SessionRepository;
  tokens: TokenRepository;
  securityEvents: SecurityEventRepository;
  hasher: PasswordHasher;
  tokenService: TokenService;
  notifications: NotificationService;
  limiter: RateLimiter;
  rules: AuthRules;
  logger: Logger;
  mfaGate?: MfaGate;
  devices?: DeviceTracker;
  /** Refuses a sign-in after the first factor (e.g. 403 while the account's deletion is pending). */
  signInGuard?: (user: UserRow) => Promise<void>;
}

const invalidCredentials = () => HttpError.unauthorized('invalid_credentials', 'E-mail or password is wrong');
const invalidRefresh = () => HttpError.unauthorized('invalid_refresh_token', 'The refresh token is not valid');

function passwordError(field: string, password: string, context: string[]): HttpError | undefined {
  const problem = passwordProblem(password, context);
  return problem
    ? HttpError.badRequest('weak_password', `The password ${problem}`, [{ path: `body.${field}`, message: problem }])
    : undefined;
}

export class AuthService {
  /** Forgot and resend answer in the same time whether or not the address has an account: see AfterAnswer. */
  private readonly later: AfterAnswer;

  constructor(private readonly d: AuthServiceDeps) {
    this.later = new AfterAnswer(d.logger, 'mail request failed after its answer');
  }

  private afterAnswer(what: string, work: () => Promise<void>): void {
    this.later.run(what, work);
  }

  /** Resolves once the work started after earlier answers is done (shutdown; tests). */
  settled(): Promise<void> {
    return this.later.settled();
  }

  /**
   * Makes a one-time token for `purpose` and queues `template` with its link, inside `tx`, so the token
   * and its mail exist together or not at all.
   */
  private async queueTokenMail(
    tx: Queryable,
    user: UserRow,
    purpose: 'verify_email' | 'password_reset',
    template: 'verify_email' | 'password_reset' | 'account_exists',
    extra: Record<string, string> = {},
  ): Promise<void> {
    const { token, hash } = newOneTimeToken();
    const verify = purpose === 'verify_email';
    const ttlSec = verify ? this.d.rules.verifyTokenTtlHours * 3600 : this.d.rules.resetTokenTtlMinutes * 60;
    await this.d.tokens.create(hash, user.id, purpose, ttlSec, tx);
    const link = tokenLink(verify ? this.d.rules.links.verifyEmail : this.d.rules.links.resetPassword, token);
    await this.d.notifications.enqueue(tx, {
      userId: user.id,
      recipient: user.email,
      template,
      locale: user.locale,
      // validMinutes: the mail states the lifetime of the token it carries, as set when it was made.
      data: {
        displayName: user.display_name,
        ...extra,
        [template === 'account_exists' ? 'resetLink' : 'link']: link,
        validMinutes: ttlSec / 60,
      },
    });
  }

  /** Queues a password-reset link for `user` in `tx` (a "this was not me" report starts one). */
  async queuePasswordReset(tx: Queryable, user: UserRow): Promise<void> {
    await this.d.tokens.invalidateAll(user.id, 'password_reset', tx);
    await this.queueTokenMail(tx, user, 'password_reset', 'password_reset');
  }

  private queueVerification(tx: Queryable, user: UserRow): Promise<void> {
    return this.queueTokenMail(tx, user, 'verify_email', 'verify_email');
  }

  /** The same 202 whether the address is new or taken; only the mail differs. */
  async register(input: { email: string; password: string; displayName: string; locale?: Locale }, meta: RequestMeta): Promise<void> {
    const email = normaliseEmail(input.email);
    const weak = passwordError('password', input.password, [email, email.split('@')[0] ?? '', input.displayName]);
    if (weak) throw weak;
    await this.d.limiter.hit('register-ip', meta.ip, this.d.rules.rateLimits.registrationsPerIp);
    await this.d.limiter.hit('mail-email', email, this.d.rules.rateLimits.mailsPerEmail);
    // Hash first in both branches, so a taken address answers in the same time as a new one.
    const passwordHash = await this.d.hasher.hash(input.password);
    await this.d.db.transaction(async (tx) => {
      const created = await this.d.users.create(
        { id: newId(), email, passwordHash, displayName: input.displayName.trim(), locale: input.locale ?? 'en' },
        tx,
      );
      if (created) return this.queueVerification(tx, created);
      const existing = await this.d.users.findByEmail(email, tx);
      if (!existing || existing.disabled_at) return;
      await this.queueTokenMail(tx, existing, 'password_reset', 'account_exists', { loginLink: this.d.rules.links.login });
    });
  }

  async login(input: { email: string; password: string }, meta: RequestMeta): Promise<SignInResult> {
    const email = normaliseEmail(input.email);
    const limits = this.d.rules.rateLimits;
    // Counted before the hash, taken back only when the password is right (see RateLimiter.reserve).
    const attempt = await this.d.limiter.reserve(
      { name: 'login-fail-ip', subject: meta.ip, window: limits.loginFailuresPerIp },
      { name: 'login-fail', subject: `${email}|${meta.ip}`, window: limits.loginFailuresPerEmailIp },
    );
    let user: UserRow | null;
    let ok: boolean;
    try {
      user = await this.d.users.findByEmail(email);
      // No account, or one without a password (made by an identity provider): the same dummy hash.
      ok = user?.password_hash ? await this.d.hasher.verify(user.password_hash, input.password) : await this.d.hasher.verifyDummy(input.password);
    } catch (err) {
      await attempt.release();
      throw err;
    }
    if (!user || !ok) {
      if (user) await this.d.securityEvents.record({ userId: user.id, event: 'login_failed', ip: meta.ip, userAgent: meta.userAgent });
      throw invalidCredentials();
    }
    await attempt.release();
    if (user.disabled_at) throw HttpError.forbidden('account_disabled', 'This account is disabled');
    if (this.d.rules.requireEmailVerification && !user.email_verified_at) {
      throw HttpError.forbidden('email_not_verified', 'Confirm your e-mail address first; we can send the link again');
    }
    if (user.password_hash && this.d.hasher.needsRehash(user.password_hash)) {
      await this.d.users.setPassword(user.id, await this.d.hasher.hash(input.password));
    }
    return this.signIn(user, meta, { amr: ['pwd'] });
  }

  /**
   * What follows a successful first factor (a password, an identity provider): the one gate every
   * sign-in passes. It opens the session, or answers a challenge instead when the account has MFA on
   * (the MFA gate applies to every way of signing in): then no token is issued until
   * POST /api/v1/auth/mfa/verify.
   */
  async signIn(user: UserRow, meta: RequestMeta, firstFactor: { amr: string[]; event?: SecurityEventName }): Promise<SignInResult> {
    await this.d.signInGuard?.(user);
    const challenge = await this.d.mfaGate?.challengeFor(user, meta, firstFactor);
    if (challenge) return challenge;
    return this.startSession(user, meta, { aal: 'aal1', amr: firstFactor.amr }, firstFactor.event);
  }

  /**
   * Opens a session for a user who has just proved who they are (password, MFA, an identity provider)
   * and answers its token pair. The one place a session starts, so every sign-in records its event
   * (and its device: the new-device mail). `within` runs in the session's transaction (the MFA step
   * spends its challenge and code there): when it throws, no session exists.
   */
  async startSession(
    user: UserRow,
    meta: RequestMeta,
    assurance: { aal: Aal; amr: string[] },
    event: SecurityEventName = 'login',
    within?: (tx: Queryable, session: SessionRow) => Promise<void>,
  ): Promise<TokenPair> {
    const secret = randomBytes(32);
    const session = await this.d.db.transaction(async (tx) => {
      const created = await this.d.sessions.create(
        {
          id: newId(),
          userId: user.id,
          secret,
          userAgent: meta.userAgent?.slice(0, 300) ?? null,
          ip: meta.ip,
          ttlDays: this.d.rules.refreshTokenTtlDays,
          maxDays: this.d.rules.sessionMaxLifetimeDays,
          aal: assurance.aal,
          amr: assurance.amr,
        },
        tx,
      );
      await this.d.securityEvents.record(
        { userId: user.id, event, ip: meta.ip, userAgent: meta.userAgent, sessionId: created.id, details: { amr: assurance.amr } },
        tx,
      );
      if (within) await within(tx, created);
      await this.d.devices?.seen(tx, user, meta, created.id);
      return created;
    });
    return this.pair(user, session, secret);
  }

  /** The pair of a live session (a refresh, a re-authentication): the access token says the session's assurance. */
  async pair(user: UserRow, session: SessionRow, secret: Uint8Array): Promise<TokenPair> {
    const accessToken = await this.d.tokenService.issueAccessToken({
      sub: user.id,
      role: user.role,
      name: user.display_name,
      emailVerified: user.email_verified_at !== null,
      sid: session.id,
      authTime: Math.floor(session.authenticated_at.getTime() / 1000),
      aal: session.aal,
      amr: session.amr,
    });
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn: this.d.tokenService.accessTokenTtlSec,
      refreshToken: this.d.tokenService.refreshToken(session.id, session.generation, secret),
      user: toUser(user),
    };
  }

  /**
   * Rotates a refresh token. The current generation rotates; the previous one, within the grace
   * window, gets the current pair (two tabs refreshing at once); anything older is a reuse, which
   * revokes the whole session.
   */
  async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
    const parsed = this.d.tokenService.parseRefreshToken(refreshToken);
    if (!parsed) throw invalidRefresh();
    const outcome = await this.d.db.transaction(async (tx) => {
      const session = await this.d.sessions.findForUpdate(parsed.sessionId, tx);
      if (!session || !this.d.tokenService.macMatches(session.id, parsed.generation, session.secret, parsed.mac)) {
        return { kind: 'invalid' as const };
      }
      if (session.revoked_at || session.expires_at <= new Date()) return { kind: 'invalid' as const };
      const user = await this.d.users.findById(session.user_id, tx);
      if (!user || user.disabled_at) {
        await this.d.sessions.revoke(session.id, 'user_disabled', tx);
        return { kind: 'invalid' as const };
      }
      if (parsed.generation === session.generation) {
        const lifetime = { ttlDays: this.d.rules.refreshTokenTtlDays, maxDays: this.d.rules.sessionMaxLifetimeDays };
        const rotated = await this.d.sessions.rotate(session.id, lifetime, meta, tx);
        return { kind: 'ok' as const, user, session: rotated };
      }
      const graceMs = this.d.rules.reuseGraceSec * 1000;
      const justRotated = session.rotated_at && Date.now() - session.rotated_at.getTime() <= graceMs;
      if (parsed.generation === session.generation - 1 && justRotated) return { kind: 'ok' as const, user, session };
      await this.d.sessions.revoke(session.id, 'refresh_token_reused', tx);
      await this.d.securityEvents.record(
        { userId: session.user_id, event: 'refresh_token_reused', ip: meta.ip, userAgent: meta.userAgent, sessionId: session.id },
        tx,
      );
      return { kind: 'reused' as const };
    });
    if (outcome.kind === 'invalid') throw invalidRefresh();
    if (outcome.kind === 'reused') {
      throw HttpError.unauthorized('refresh_token_reused', 'This refresh token was already used; the session has been ended');
    }
    return this.pair(outcome.user, outcome.session, outcome.session.secret);
  }

  /**
   * Ends this session (`local`), the user's other sessions (`others`) or all of them (`global`). The
   * session is the one of `refreshToken` when that is valid (its current generation, or the previous
   * one within the grace window), else the access token's. Without an access token the refresh token
   * is the only proof, so it must be valid (401 otherwise); with one, a refresh token of another user's
   * session or a stale one is ignored.
   */
  async logout(principal: Principal | undefined, scope: 'local' | 'others' | 'global', refreshToken?: string, meta?: RequestMeta): Promise<void> {
    const proven = refreshToken ? await this.liveSessionOf(refreshToken) : undefined;
    let userId: string;
    let sid: string | undefined;
    if (principal) {
      userId = principal.sub;
      // Only a session of the caller's own may be named by its refresh token.
      sid = proven && proven.user_id === principal.sub ? proven.id : principal.sid;
    } else {
      if (!proven) throw invalidRefresh();
      userId = proven.user_id;
      sid = proven.id;
    }
    await this.d.db.transaction(async (tx) => {
      let ended: number;
      if (scope === 'local') ended = sid && (await this.d.sessions.revoke(sid, 'logout', tx)) ? 1 : 0;
      else ended = await this.d.sessions.revokeAllForUser(userId, 'logout', { exceptId: scope === 'others' ? sid : undefined }, tx);
      // Security activity: a logout that ended something (a repeated one is not news).
      if (ended > 0) {
        await this.d.securityEvents.record(
          { userId, event: 'logout', ip: meta?.ip, userAgent: meta?.userAgent, sessionId: sid ?? null, details: { scope, ended } },
          tx,
        );
      }
    });
  }

  /** The live session a refresh token proves (MAC, not ended, current or just-rotated generation), or undefined. */
  private async liveSessionOf(refreshToken: string): Promise<{ id: string; user_id: string } | undefined> {
    const parsed = this.d.tokenService.parseRefreshToken(refreshToken);
    if (!parsed) return undefined;
    const session = await this.d.sessions.findById(parsed.sessionId);
    if (!session || !this.d.tokenService.macMatches(session.id, parsed.generation, session.secret, parsed.mac)) return undefined;
    if (session.revoked_at || session.expires_at <= new Date()) return undefined;
    const justRotated = session.rotated_at !== null && Date.now() - session.rotated_at.getTime() <= this.d.rules.reuseGraceSec * 1000;
    const current = parsed.generation === session.generation || (parsed.generation === session.generation - 1 && justRotated);
    return current ? session : undefined;
  }

  async verifyEmail(token: string, meta?: RequestMeta): Promise<User> {
    return this.d.db.transaction(async (tx) => {
      const userId = await this.d.tokens.consume(hashOneTimeToken(token), 'verify_email', tx);
      if (!userId) throw HttpError.badRequest('invalid_or_expired_token', 'The link is not valid or has expired; ask for a new one');
      // The address is proven: the other links that would prove it again are spent with this one.
      await this.d.tokens.invalidateAll(userId, 'verify_email', tx);
      const user = await this.d.users.markVerified(userId, tx);
      if (!user) throw HttpError.badRequest('invalid_or_expired_token', 'The link is not valid or has expired');
      await this.d.securityEvents.record({ userId, event: 'email_verified', ip: meta?.ip, userAgent: meta?.userAgent }, tx);
      return toUser(user);
    });
  }

  /**
   * Always accepted; a mail goes out only to an unverified account, at most once per interval. The
   * rate limits answer 429 at once; the rest runs after the 202 (no timing difference, see afterAnswer).
   */
  async resendVerification(emailInput: string, meta: RequestMeta): Promise<void> {
    const email = normaliseEmail(emailInput);
    await this.d.limiter.hit('mail-ip', meta.ip, this.d.rules.rateLimits.mailsPerIp);
    await this.d.limiter.hit('mail-email', email, this.d.rules.rateLimits.mailsPerEmail);
    this.afterAnswer('verify-email/resend', () => this.d.db.transaction(async (tx) => {
      const user = await this.d.users.findByEmail(email, tx);
      if (!user || user.email_verified_at || user.disabled_at) return;
      // Serialise concurrent resends for one user, so the interval holds under a burst.
      await this.d.users.findForUpdate(user.id, tx);
      const since = await this.d.tokens.secondsSinceLast(user.id, 'verify_email', tx);
      if (since !== null && since < this.d.rules.verificationResendIntervalSec) return;
      await this.queueVerification(tx, user);
    }));
  }

  /**
   * Always accepted (no account enumeration); a reset mail goes only to an existing, enabled account.
   * As with resend, the limits answer at once and the per-account work runs after the 202.
   */
  async forgotPassword(emailInput: string, meta: RequestMeta): Promise<void> {
    const email = normaliseEmail(emailInput);
    await this.d.limiter.hit('mail-ip', meta.ip, this.d.rules.rateLimits.mailsPerIp);
    await this.d.limiter.hit('mail-email', email, this.d.rules.rateLimits.mailsPerEmail);
    this.afterAnswer('password/forgot', () => this.d.db.transaction(async (tx) => {
      const user = await this.d.users.findByEmail(email, tx);
      if (!user || user.disabled_at) return;
      await this.d.tokens.invalidateAll(user.id, 'password_reset', tx);
      await this.queueTokenMail(tx, user, 'password_reset', 'password_reset');
    }));
  }

  /** Sets a new password from a reset link; every session of the user ends. */
  async resetPassword(token: string, password: string, meta?: RequestMeta): Promise<void> {
    const hash = hashOneTimeToken(token);
    await this.d.db.transaction(async (tx) => {
      const userId = await this.d.tokens.consume(hash, 'password_reset', tx);
      if (!userId) throw HttpError.badRequest('invalid_or_expired_token', 'The link is not valid or has expired; ask for a new one');
      // Every other open reset link of the user is spent too, including the one an "account exists"
      // mail carries: no link outlives the reset it could undo.
      await this.d.tokens.invalidateAll(userId, 'password_reset', tx);
      const user = await this.d.users.findForUpdate(userId, tx);
      if (!user || user.disabled_at) throw HttpError.badRequest('invalid_or_expired_token', 'The link is not valid or has expired');
      const weak = passwordError('password', password, [user.email, user.display_name]);
      if (weak) throw weak;
      await this.d.users.setPassword(user.id, await this.d.hasher.hash(password), tx);
      // The link came by mail, so the address is proven too.
      await this.d.users.markVerified(user.id, tx);
      const ended = await this.d.sessions.revokeAllForUser(user.id, 'password_reset', {}, tx);
      await this.d.securityEvents.record({ userId: user.id, event: 'password_reset', ip: meta?.ip, userAgent: meta?.userAgent, details: { sessionsEnded: ended } }, tx);
      await this.queuePasswordChanged(tx, user);
    });
  }

  private async queuePasswordChanged(tx: Queryable, user: UserRow): Promise<void> {
    await this.d.notifications.enqueue(tx, {
      userId: user.id,
      recipient: user.email,
      template: 'password_changed',
      locale: user.locale,
      data: { displayName: user.display_name, changedAt: new Date().toISOString() },
    });
  }

  /** Needs the current password; the user's other sessions end, this one stays. */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string, meta: RequestMeta): Promise<void> {
    // A guess at the password like a login: counted before the hash, taken back when it is right.
    const attempt = await this.d.limiter.reserve(
      { name: 'password-change', subject: principal.sub, window: this.d.rules.rateLimits.loginFailuresPerEmailIp },
      { name: 'login-fail-ip', subject: meta.ip, window: this.d.rules.rateLimits.loginFailuresPerIp },
    );
    let user: UserRow | null;
    let ok: boolean;
    try {
      user = await this.d.users.findById(principal.sub);
      ok = user !== null && !user.disabled_at && (user.password_hash ? await this.d.hasher.verify(user.password_hash, currentPassword) : await this.d.hasher.verifyDummy(currentPassword));
    } catch (err) {
      await attempt.release();
      throw err;
    }
    if (!user || user.disabled_at) {
      await attempt.release();
      throw HttpError.unauthorized('invalid_token', 'The account no longer exists');
    }
    if (!ok) throw HttpError.forbidden('wrong_password', 'The current password is wrong');
    await attempt.release();
    const weak = passwordError('newPassword', newPassword, [user.email, user.display_name]);
    if (weak) throw weak;
    const hash = await this.d.hasher.hash(newPassword);
    await this.d.db.transaction(async (tx) => {
      await this.d.users.setPassword(user.id, hash, tx);
      await this.d.sessions.revokeAllForUser(user.id, 'password_changed', { exceptId: principal.sid }, tx);
      await this.d.securityEvents.record(
        { userId: user.id, event: 'password_changed', ip: meta.ip, userAgent: meta.userAgent, sessionId: principal.sid },
        tx,
      );
      await this.queuePasswordChanged(tx, user);
    });
  }

  /** RFC 6749 section 4.4: a service's own token. */
  async clientCredentials(clientId: string, clientSecret: string): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number }> {
    const client = this.d.rules.clients.find((c) => c.id === clientId);
    // Compare against a stand-in secret when the id is unknown, so timing says nothing.
    const ok = secretsEqual(client?.secret ?? 'unknown-client-secret-stand-in', clientSecret) && client !== undefined;
    if (!ok) throw new HttpError(401, 'invalid_client', { detail: 'Unknown client or wrong secret', headers: { 'www-authenticate': 'Basic realm="token"' } });
    const accessToken = await this.d.tokenService.issueAccessToken({ sub: `client:${client.id}`, role: 'service', name: client.id, emailVerified: true });
    return { access_token: accessToken, token_type: 'Bearer', expires_in: this.d.tokenService.accessTokenTtlSec };
  }
}
