/**
 * Two-factor sign-in: TOTP enrolment and removal, recovery codes, the second step of a
 * sign-in (`verify`) and re-authentication (step-up). Codes and secrets never leave this module except
 * in the one answer that shows them (enrolment, a new set of recovery codes); they are never logged
 * and never put in a security event.
 *
 * Every check of a guessable secret is counted first through the shared limiter (`reserve`), so a
 * parallel burst cannot pass the limit; a code is accepted once, decided by the UPDATE that records it.
 */
import { createHmac, randomInt } from 'node:crypto';
import type { Database, Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { newId } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import { RECOVERY_CODE_COUNT, toMfaFactor, type MfaChallenge, type MfaChallengeRow, type MfaMethod, type MfaStatus } from '../models/mfa.js';
import type { SecurityEventName } from '../models/security_event.js';
import type { UserRow } from '../models/user.js';
import type { MfaRepository } from '../repository/mfa_repository.js';
import type { SecurityEventRepository } from '../repository/security_event_repository.js';
import type { SessionRepository } from '../repository/session_repository.js';
import type { UserRepository } from '../repository/user_repository.js';
import type { AuthService, MfaGate, RequestMeta, TokenPair } from './auth_service.js';
import type { NotificationService } from './notification_service.js';
import type { PasswordHasher } from './password_hasher.js';
import type { RateLimiter, Window } from './rate_limiter.js';
import { requireRecentAuthentication } from './step_up.js';
import { hashOneTimeToken, newOneTimeToken } from './token_service.js';
import { matchStep, newTotpSecret, otpauthUri, type SecretBox } from './totp.js';

export const MFA_METHODS_OFFERED: MfaChallenge['methods'] = ['totp', 'recovery_code'];

// One answer for a wrong, replayed or expired code: nothing tells a guesser which.
const invalidCode = (status: 401 | 403 = 401) =>
  new HttpError(status, 'invalid_mfa_code', { detail: 'The code is not valid; use a new code from your app, or a recovery code' });
const invalidMfaToken = () => HttpError.unauthorized('invalid_mfa_token', 'This sign-in attempt has expired or was already completed; sign in again');
const factorNotFound = () => HttpError.notFound('mfa_factor_not_found');
const accountGone = () => HttpError.unauthorized('invalid_token', 'The account no longer exists');

/** Recovery codes: 10 characters of a 31-letter alphabet without look-alikes (about 49.5 bits), shown as xxxxx-xxxxx. */
const CODE_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

function newRecoveryCode(): string {
  let code = '';
  // randomInt draws without modulo bias.
  for (let i = 0; i < 10; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/** What a user types: case, spaces and dashes do not matter. */
function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]+/g, '');
}

/** The MFA gate inside AuthService.signIn: a challenge (mfaToken, stored hashed) when MFA is on. */
export class MfaChallenges implements MfaGate {
  constructor(
    private readonly mfa: MfaRepository,
    private readonly ttlSec: number,
  ) {}

  async challengeFor(user: UserRow, meta: RequestMeta, firstFactor: { amr: string[]; event?: SecurityEventName }): Promise<MfaChallenge | null> {
    if (!(await this.mfa.hasActiveFactor(user.id))) return null;
    const { token, hash } = newOneTimeToken();
    await this.mfa.deleteOldChallenges();
    await this.mfa.createChallenge({
      id: newId(),
      tokenHash: hash,
      userId: user.id,
      amr: firstFactor.amr,
      event: firstFactor.event ?? 'login',
      ip: meta.ip,
      userAgent: meta.userAgent,
      ttlSec: this.ttlSec,
    });
    return { mfaRequired: true, mfaToken: token, methods: [...MFA_METHODS_OFFERED], expiresIn: this.ttlSec };
  }
}

export interface MfaRules {
  issuer: string;
  attemptsPerChallenge: Window;
  failuresPerUser: Window;
  /** Re-authentication is limited like a login: per account, and per IP. */
  reauthPerUser: Window;
  failuresPerIp: Window;
}

export interface MfaServiceDeps {
  db: Database;
  mfa: MfaRepository;
  users: UserRepository;
  sessions: SessionRepository;
  securityEvents: SecurityEventRepository;
  notifications: NotificationService;
  limiter: RateLimiter;
  hasher: PasswordHasher;
  auth: AuthService;
  box: SecretBox;
  /** Keys the HMAC of recovery codes (the server secret). */
  hmacKey: Buffer;
  rules: MfaRules;
}

/** Thrown inside a transaction to roll it back when a code turns out to be spent. */
const REJECTED = Symbol('rejected');

export class MfaService {
  constructor(private readonly d: MfaServiceDeps) {}

  private recoveryHash(userId: string, code: string): Buffer {
    return createHmac('sha256', this.d.hmacKey).update(`mfa-recovery-code:${userId}:${normaliseRecoveryCode(code)}`).digest();
  }

  private context(factor: { id: string; user_id: string }): string {
    return `${factor.id}:${factor.user_id}`;
  }

  private async self(principal: Principal): Promise<UserRow> {
    const user = await this.d.users.findById(principal.sub);
    if (!user || user.disabled_at) throw accountGone();
    return user;
  }

  private newRecoveryCodes(userId: string): { codes: string[]; hashes: Buffer[] } {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    return { codes, hashes: codes.map((c) => this.recoveryHash(userId, c)) };
  }

  private async mail(tx: Queryable, user: UserRow, template: 'mfa_enabled' | 'mfa_disabled', meta: RequestMeta): Promise<void> {
    await this.d.notifications.enqueue(tx, {
      userId: user.id,
      recipient: user.email,
      template,
      locale: user.locale,
      data: { displayName: user.display_name, changedAt: new Date().toISOString(), ip: meta.ip },
    });
  }

  async status(principal: Principal): Promise<MfaStatus> {
    await this.self(principal);
    const [factors, remaining] = await Promise.all([this.d.mfa.listFactors(principal.sub), this.d.mfa.countRecoveryCodes(principal.sub)]);
    return { factors: factors.map(toMfaFactor), recoveryCodesRemaining: remaining };
  }

  /** Starts a TOTP enrolment: a new secret, shown once; the factor is pending until `activate`. */
  async enrol(principal: Principal): Promise<{ factorId: string; secret: string; otpauthUri: string }> {
    const user = await this.self(principal);
    const enabled = await this.d.mfa.hasActiveFactor(user.id);
    requireRecentAuthentication(principal, { mfaEnabled: enabled });
    if (enabled) throw HttpError.conflict('mfa_already_enabled', 'Two-factor sign-in is already on; remove the current factor first');
    const secret = newTotpSecret();
    const id = newId();
    await this.d.db.transaction(async (tx) => {
      await this.d.mfa.deletePendingFactors(user.id, tx);
      await this.d.mfa.createFactor({ id, userId: user.id, secretEnc: this.d.box.seal(secret, this.context({ id, user_id: user.id })) }, tx);
    });
    return { factorId: id, secret, otpauthUri: otpauthUri(secret, user.email, this.d.rules.issuer) };
  }

  /**
   * Confirms an enrolment with a first code: MFA is on from here. The other sessions end, this one is
   * raised to aal2 (its holder just showed the code), a notice is mailed, and 10 recovery codes are
   * answered, once.
   */
  async activate(principal: Principal, factorId: string, code: string, meta: RequestMeta): Promise<{ recoveryCodes: string[] }> {
    const user = await this.self(principal);
    const factor = await this.d.mfa.findFactor(user.id, factorId);
    if (!factor) throw factorNotFound();
    requireRecentAuthentication(principal, { mfaEnabled: await this.d.mfa.hasActiveFactor(user.id) });
    if (factor.activated_at) throw HttpError.conflict('mfa_already_enabled', 'This factor is already active');
    const attempt = await this.d.limiter.reserve({ name: 'mfa-user', subject: user.id, window: this.d.rules.failuresPerUser });
    let recoveryCodes: string[] | null;
    try {
      const step = matchStep(this.d.box.open(factor.secret_enc, this.context(factor)), code);
      recoveryCodes = step === null ? null : await this.d.db.transaction(async (tx) => {
        if (!(await this.d.mfa.useStep(factor.id, step, { activate: true }, tx))) return null;
        const { codes, hashes } = this.newRecoveryCodes(user.id);
        await this.d.mfa.replaceRecoveryCodes(user.id, hashes, tx);
        await this.d.sessions.revokeAllForUser(user.id, 'mfa_enabled', { exceptId: principal.sid }, tx);
        if (principal.sid) {
          const current = await this.d.sessions.findById(principal.sid, tx);
          const amr = [...new Set([...(current?.amr ?? ['pwd']).filter((m) => m !== 'mfa'), 'otp', 'mfa'])];
          await this.d.sessions.reauthenticated(principal.sid, user.id, { aal: 'aal2', amr }, tx);
        }
        await this.d.securityEvents.record(
          { userId: user.id, event: 'mfa_enabled', ip: meta.ip, userAgent: meta.userAgent, sessionId: principal.sid, details: { factorId: factor.id } },
          tx,
        );
        await this.mail(tx, user, 'mfa_enabled', meta);
        return codes;
      });
    } catch (err) {
      await attempt.release();
      throw err;
    }
    if (!recoveryCodes) {
      await this.recordFailure(user.id, meta, principal.sid, 'totp', 'activation');
      throw invalidCode(403);
    }
    await attempt.release();
    return { recoveryCodes };
  }

  /** Removes a factor; removing the active one turns MFA off (other sessions end, a notice is mailed). */
  async remove(principal: Principal, factorId: string, meta: RequestMeta): Promise<void> {
    const user = await this.self(principal);
    const factor = await this.d.mfa.findFactor(user.id, factorId);
    if (!factor) throw factorNotFound();
    requireRecentAuthentication(principal, { mfaEnabled: await this.d.mfa.hasActiveFactor(user.id) });
    await this.d.db.transaction(async (tx) => {
      const removed = await this.d.mfa.deleteFactor(user.id, factorId, tx);
      if (!removed) throw factorNotFound();
      if (!removed.activated_at) return;
      await this.d.mfa.deleteRecoveryCodes(user.id, tx);
      await this.d.sessions.revokeAllForUser(user.id, 'mfa_disabled', { exceptId: principal.sid }, tx);
      await this.d.securityEvents.record(
        { userId: user.id, event: 'mfa_disabled', ip: meta.ip, userAgent: meta.userAgent, sessionId: principal.sid, details: { factorId } },
        tx,
      );
      await this.mail(tx, user, 'mfa_disabled', meta);
    });
  }

  /** A new set of 10 recovery codes; the old ones stop working. */
  async regenerateRecoveryCodes(principal: Principal, meta: RequestMeta): Promise<{ recoveryCodes: string[] }> {
    const user = await this.self(principal);
    const enabled = await this.d.mfa.hasActiveFactor(user.id);
    requireRecentAuthentication(principal, { mfaEnabled: enabled });
    if (!enabled) throw HttpError.conflict('mfa_not_enabled', 'Turn two-factor sign-in on first');
    const { codes, hashes } = this.newRecoveryCodes(user.id);
    await this.d.db.transaction(async (tx) => {
      await this.d.mfa.replaceRecoveryCodes(user.id, hashes, tx);
      await this.d.securityEvents.record(
        { userId: user.id, event: 'recovery_codes_regenerated', ip: meta.ip, userAgent: meta.userAgent, sessionId: principal.sid },
        tx,
      );
    });
    return { recoveryCodes: codes };
  }

  private async recordFailure(userId: string, meta: RequestMeta, sessionId: string | undefined, method: MfaMethod, during: string): Promise<void> {
    await this.d.securityEvents.record({ userId, event: 'mfa_challenge_failed', ip: meta.ip, userAgent: meta.userAgent, sessionId: sessionId ?? null, details: { method, during } });
  }

  /**
   * The second step of a sign-in: the mfaToken of the first and a code. Counted per mfaToken and per
   * account before the check; the challenge, the code and the session are spent and made in one
   * transaction, so a code or an mfaToken works once even under parallel requests.
   */
  async verify(input: { mfaToken: string; method: MfaMethod; code: string }, meta: RequestMeta): Promise<TokenPair> {
    const challenge = await this.d.mfa.findLiveChallenge(hashOneTimeToken(input.mfaToken));
    if (!challenge) throw invalidMfaToken();
    const attempt = await this.d.limiter.reserve(
      { name: 'mfa-challenge', subject: challenge.id, window: this.d.rules.attemptsPerChallenge },
      { name: 'mfa-user', subject: challenge.user_id, window: this.d.rules.failuresPerUser },
    );
    let pair: TokenPair | null;
    try {
      pair = await this.completeChallenge(challenge, input, meta);
    } catch (err) {
      await attempt.release();
      throw err;
    }
    if (!pair) {
      await this.recordFailure(challenge.user_id, meta, undefined, input.method, 'sign_in');
      throw invalidCode(401);
    }
    await attempt.release();
    return pair;
  }

  private async completeChallenge(challenge: MfaChallengeRow, input: { method: MfaMethod; code: string }, meta: RequestMeta): Promise<TokenPair | null> {
    const user = await this.d.users.findById(challenge.user_id);
    if (!user || user.disabled_at) throw invalidMfaToken();
    let spend: (tx: Queryable) => Promise<boolean>;
    let amr: string[];
    if (input.method === 'totp') {
      const factor = await this.d.mfa.findActiveFactor(user.id);
      const step = factor ? matchStep(this.d.box.open(factor.secret_enc, this.context(factor)), input.code) : null;
      if (!factor || step === null) return null;
      spend = (tx) => this.d.mfa.useStep(factor.id, step, {}, tx);
      amr = [...challenge.amr, 'otp', 'mfa'];
    } else {
      const hash = this.recoveryHash(user.id, input.code);
      spend = (tx) => this.d.mfa.useRecoveryCode(user.id, hash, tx);
      // RFC 8176 has no value for a look-up secret: `mfa` says a second factor was shown.
      amr = [...challenge.amr, 'mfa'];
    }
    try {
      return await this.d.auth.startSession(user, meta, { aal: 'aal2', amr: [...new Set(amr)] }, challenge.event as SecurityEventName, async (tx, session) => {
        if (!(await this.d.mfa.consumeChallenge(challenge.id, tx))) throw REJECTED;
        if (!(await spend(tx))) throw REJECTED;
        const base = { userId: user.id, ip: meta.ip, userAgent: meta.userAgent, sessionId: session.id, details: { method: input.method } };
        await this.d.securityEvents.record({ ...base, event: 'mfa_verified' }, tx);
        if (input.method === 'recovery_code') {
          await this.d.securityEvents.record({ ...base, event: 'recovery_code_used', details: { remaining: await this.d.mfa.countRecoveryCodes(user.id, tx) } }, tx);
        }
      });
    } catch (err) {
      if (err === REJECTED) return null;
      throw err;
    }
  }

  /**
   * Step-up: the holder of this session proves who they are again, with the password or (MFA on) a
   * TOTP code; the session's `auth_time` moves to now and a fresh pair is answered. A password gives
   * aal1 (so with MFA on, a code is needed for the operations that ask for aal2); a code gives aal2.
   */
  async reauthenticate(principal: Principal, input: { password?: string; code?: string }, meta: RequestMeta): Promise<TokenPair> {
    if (!principal.sid) throw HttpError.forbidden('forbidden', 'Only a user session can be re-authenticated');
    const sid = principal.sid;
    const user = await this.self(principal);
    const attempt = await this.d.limiter.reserve(
      { name: 'reauth', subject: user.id, window: this.d.rules.reauthPerUser },
      { name: 'login-fail-ip', subject: meta.ip, window: this.d.rules.failuresPerIp },
      ...(input.code !== undefined ? [{ name: 'mfa-user', subject: user.id, window: this.d.rules.failuresPerUser }] : []),
    );
    let session;
    try {
      session = input.code !== undefined ? await this.reauthWithCode(user, sid, input.code, meta) : await this.reauthWithPassword(user, sid, input.password ?? '', meta);
    } catch (err) {
      await attempt.release();
      throw err;
    }
    if (!session) {
      if (input.code !== undefined) {
        await this.recordFailure(user.id, meta, sid, 'totp', 'reauthentication');
        throw invalidCode(403);
      }
      throw HttpError.forbidden('wrong_password', 'The password is wrong');
    }
    await attempt.release();
    return this.d.auth.pair(user, session, session.secret);
  }

  private async reauthWithPassword(user: UserRow, sid: string, password: string, meta: RequestMeta) {
    if (user.password_hash === null || !(await this.d.hasher.verify(user.password_hash, password))) return null;
    return this.d.db.transaction(async (tx) => {
      const session = await this.d.sessions.reauthenticated(sid, user.id, { aal: 'aal1', amr: ['pwd'] }, tx);
      if (!session) throw HttpError.unauthorized('session_revoked', 'The session has ended; log in again');
      await this.d.securityEvents.record({ userId: user.id, event: 'reauthenticated', ip: meta.ip, userAgent: meta.userAgent, sessionId: sid, details: { method: 'password' } }, tx);
      return session;
    });
  }

  private async reauthWithCode(user: UserRow, sid: string, code: string, meta: RequestMeta) {
    const factor = await this.d.mfa.findActiveFactor(user.id);
    const step = factor ? matchStep(this.d.box.open(factor.secret_enc, this.context(factor)), code) : null;
    if (!factor || step === null) return null;
    try {
      return await this.d.db.transaction(async (tx) => {
        if (!(await this.d.mfa.useStep(factor.id, step, {}, tx))) throw REJECTED;
        const current = await this.d.sessions.findById(sid, tx);
        const amr = [...new Set([...(current?.amr ?? []).filter((m) => m !== 'mfa' && m !== 'otp'), 'otp', 'mfa'])];
        const session = await this.d.sessions.reauthenticated(sid, user.id, { aal: 'aal2', amr }, tx);
        if (!session) throw HttpError.unauthorized('session_revoked', 'The session has ended; log in again');
        await this.d.securityEvents.record({ userId: user.id, event: 'reauthenticated', ip: meta.ip, userAgent: meta.userAgent, sessionId: sid, details: { method: 'totp' } }, tx);
        return session;
      });
    } catch (err) {
      if (err === REJECTED) return null;
      throw err;
    }
  }
}
