/**
 * Two-factor sign-in over real PostgreSQL, Redis and SMTP: enrolment, the MFA gate in login, the verify
 * step (replay, skew, the limiter under a parallel burst, recovery codes), step-up and
 * re-authentication, removal, other users' factors, bad input, and no secret or code in any log line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { codeAt } from '../../internal/auth-service/services/totp.js';
import { createLogger } from '../../internal/shared/utils/logging.js';

const STEP_MS = 30_000;

function claims(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Waits while the current 30 s step is about to end, so a code made now is still of this step when checked. */
async function safeStep(marginMs = 5_000): Promise<number> {
  const into = Date.now() % STEP_MS;
  if (into > STEP_MS - marginMs) await new Promise((r) => setTimeout(r, STEP_MS - into + 200));
  return Date.now();
}

describe.skipIf(!hasPostgres)('two-factor sign-in', () => {
  let h: AuthHarness;
  const logLines: string[] = [];
  /** Every secret, code, recovery code and mfaToken the tests saw: none may appear in a log line. */
  const secrets = new Set<string>();

  beforeAll(async () => {
    h = await startAuth({ log: { level: 'debug' } }, { logger: createLogger('debug', 'auth-service', { write: (l: string) => void logLines.push(l) }) });
  });
  afterAll(async () => {
    await h?.close();
  });

  const keep = <T extends string>(s: T): T => {
    secrets.add(s);
    return s;
  };

  async function count(sql: string, params: unknown[] = []): Promise<number> {
    return (await h.database.db.query<{ n: number }>(sql, params)).rows[0]!.n;
  }

  async function events(userId: string, event: string): Promise<number> {
    return count('SELECT count(*)::int AS n FROM security_events WHERE user_id = $1 AND event = $2', [userId, event]);
  }

  /** A verified user with MFA on through the API (the activation spends the previous step, leaving now and the next one). */
  async function mfaUser() {
    const u = await h.newUser();
    const t = await h.login(u.email, u.password);
    const enrol = await h.call('POST', '/api/v1/users/me/mfa/totp', { token: t.accessToken });
    expect(enrol.status).toBe(201);
    const secret = keep(enrol.body.secret as string);
    const now = await safeStep();
    const act = await h.call('POST', `/api/v1/users/me/mfa/totp/${enrol.body.factorId}/activate`, { token: t.accessToken, body: { code: keep(codeAt(secret, now - STEP_MS)) } });
    expect(act.status, act.text).toBe(200);
    const recoveryCodes = (act.body.recoveryCodes as string[]).map(keep);
    return { ...u, secret, factorId: enrol.body.factorId as string, recoveryCodes, tokens: t };
  }

  async function challenge(email: string, password: string): Promise<string> {
    const res = await h.call('POST', '/api/v1/auth/login', { body: { email, password } });
    expect(res.status).toBe(200);
    expect(res.body.mfaRequired).toBe(true);
    return keep(res.body.mfaToken as string);
  }

  const verify = (mfaToken: string, code: string, method: 'totp' | 'recovery_code' = 'totp') =>
    h.call('POST', '/api/v1/auth/mfa/verify', { body: { mfaToken, method, code } });

  /** Lets every step be used again (a test about something other than replay needs more than two codes). */
  const resetSteps = (userId: string) => h.database.db.query('UPDATE mfa_factors SET last_used_step = 0 WHERE user_id = $1', [userId]);

  it('enrols and activates TOTP: the secret is stored sealed, 10 recovery codes, other sessions end, a notice is mailed', async () => {
    const u = await h.newUser();
    const here = await h.login(u.email, u.password);
    const elsewhere = await h.login(u.email, u.password);
    const enrol = await h.call('POST', '/api/v1/users/me/mfa/totp', { token: here.accessToken });
    expect(enrol.status).toBe(201);
    const secret = keep(enrol.body.secret as string);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(enrol.body.otpauthUri).toContain(`secret=${secret}`);
    const stored = (await h.database.db.query<{ secret_enc: Buffer }>('SELECT secret_enc FROM mfa_factors WHERE id = $1', [enrol.body.factorId])).rows[0]!;
    expect(stored.secret_enc.toString('latin1')).not.toContain(secret);

    // Pending: login still answers tokens.
    expect((await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } })).body.accessToken).toBeTypeOf('string');

    const act = await h.call('POST', `/api/v1/users/me/mfa/totp/${enrol.body.factorId}/activate`, { token: here.accessToken, body: { code: keep(codeAt(secret, await safeStep())) } });
    expect(act.status).toBe(200);
    const codes = act.body.recoveryCodes as string[];
    codes.forEach(keep);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const hashes = await h.database.db.query<{ code_hash: Buffer }>('SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1', [u.id]);
    expect(hashes.rows).toHaveLength(10);
    for (const row of hashes.rows) for (const c of codes) expect(row.code_hash.toString('latin1')).not.toContain(c);

    const status = await h.call('GET', '/api/v1/users/me/mfa', { token: here.accessToken });
    expect(status.body).toMatchObject({ recoveryCodesRemaining: 10, factors: [{ id: enrol.body.factorId, type: 'totp', status: 'active' }] });
    expect(JSON.stringify(status.body)).not.toContain(secret);

    expect((await h.call('GET', '/api/v1/users/me', { token: elsewhere.accessToken })).status).toBe(401);
    expect((await h.call('GET', '/api/v1/users/me', { token: here.accessToken })).status).toBe(200);
    // This session showed the code: a refresh says aal2.
    const refreshed = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: here.refreshToken } });
    expect(claims(refreshed.body.accessToken as string)).toMatchObject({ aal: 'aal2', amr: expect.arrayContaining(['otp', 'mfa']) });
    expect(await events(u.id, 'mfa_enabled')).toBe(1);
    const mail = await h.smtp.waitFor((m) => m.to.includes(u.email) && /Two-factor sign-in is on/.test(m.subject));
    expect(mail.text).not.toContain(secret);
  });

  it('with MFA on, the password alone gives no token: a challenge, then verify gives an aal2 pair', async () => {
    const u = await mfaUser();
    const sessionsBefore = await count('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [u.id]);
    const login = await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } });
    expect(login.status).toBe(200);
    keep(login.body.mfaToken);
    expect(login.body).toEqual({ mfaRequired: true, mfaToken: expect.any(String), methods: ['totp', 'recovery_code'], expiresIn: 300 });
    expect(login.body).not.toHaveProperty('accessToken');
    expect(login.body).not.toHaveProperty('refreshToken');
    expect(await count('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [u.id])).toBe(sessionsBefore);
    // Only the hash of the mfaToken is stored.
    expect(await count('SELECT count(*)::int AS n FROM mfa_challenges WHERE user_id = $1', [u.id])).toBe(1);

    const res = await verify(login.body.mfaToken, keep(codeAt(u.secret, Date.now())));
    expect(res.status, res.text).toBe(200);
    const c = claims(res.body.accessToken as string);
    expect(c.aal).toBe('aal2');
    expect(c.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(Math.abs(Number(c.auth_time) - Date.now() / 1000)).toBeLessThan(30);
    expect((await h.call('GET', '/api/v1/users/me', { token: res.body.accessToken })).status).toBe(200);
    expect(await events(u.id, 'mfa_verified')).toBe(1);
    // The mfaToken is single use.
    const again = await verify(login.body.mfaToken, keep(codeAt(u.secret, Date.now() + STEP_MS)));
    expect(again.status).toBe(401);
    expect(again.body.code).toBe('invalid_mfa_token');
  });

  it('a code works once: replayed in a new challenge it gets the same answer as a wrong or an expired code', async () => {
    const u = await mfaUser();
    const code = keep(codeAt(u.secret, await safeStep()));
    expect((await verify(await challenge(u.email, u.password), code)).status).toBe(200);

    const replay = await verify(await challenge(u.email, u.password), code);
    const wrongCode = code === '000000' ? '111111' : '000000';
    const wrong = await verify(await challenge(u.email, u.password), wrongCode);
    const expired = await verify(await challenge(u.email, u.password), keep(codeAt(u.secret, Date.now() - 3 * STEP_MS)));
    for (const r of [replay, wrong, expired]) {
      expect(r.status).toBe(401);
      expect(r.body.code).toBe('invalid_mfa_code');
      expect(r.body.detail).toBe(replay.body.detail);
      expect(r.headers['content-type']).toMatch(/problem\+json/);
    }
    expect(await events(u.id, 'mfa_challenge_failed')).toBe(3);
    // Two requests with the same fresh code at once: exactly one gets in.
    await resetSteps(u.id);
    const fresh = keep(codeAt(u.secret, await safeStep()));
    const [a, b] = await Promise.all([verify(await challenge(u.email, u.password), fresh), verify(await challenge(u.email, u.password), fresh)]);
    expect([a.status, b.status].sort()).toEqual([200, 401]);
  });

  it('accepts one step of clock skew either way and refuses two', async () => {
    const u = await mfaUser();
    await resetSteps(u.id);
    const now = await safeStep(12_000);
    for (const off of [-2, 2]) {
      const code = keep(codeAt(u.secret, now + off * STEP_MS));
      const near = [-1, 0, 1].map((o) => codeAt(u.secret, now + o * STEP_MS));
      if (near.includes(code)) continue; // one in ~300000: the far code equals a near one
      expect((await verify(await challenge(u.email, u.password), code)).status).toBe(401);
    }
    expect((await verify(await challenge(u.email, u.password), keep(codeAt(u.secret, now - STEP_MS)))).status).toBe(200);
    expect((await verify(await challenge(u.email, u.password), keep(codeAt(u.secret, now + STEP_MS)))).status).toBe(200);
  });

  it('an expired mfaToken is refused', async () => {
    const u = await mfaUser();
    const token = await challenge(u.email, u.password);
    await h.database.db.query("UPDATE mfa_challenges SET expires_at = now() - interval '1 second' WHERE user_id = $1", [u.id]);
    const res = await verify(token, keep(codeAt(u.secret, Date.now())));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_mfa_token');
  });

  it('limits tries per mfaToken atomically: 24 parallel wrong codes, then the right one, none slips past the limit', async () => {
    const u = await mfaUser();
    const token = await challenge(u.email, u.password);
    const right = keep(codeAt(u.secret, Date.now()));
    const wrong = right === '000000' ? '111111' : '000000';
    const burst = await Promise.all(Array.from({ length: 24 }, () => verify(token, wrong)));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(19);
    const after = await verify(token, right);
    expect(after.status).toBe(429);
    expect(after.headers['retry-after']).toBeDefined();
    expect(await events(u.id, 'mfa_challenge_failed')).toBe(5);
    expect(await events(u.id, 'mfa_verified')).toBe(0);
  });

  it('limits wrong codes per account across mfaTokens (10 per 15 minutes)', async () => {
    const u = await mfaUser();
    const right = keep(codeAt(u.secret, Date.now()));
    const wrong = right === '000000' ? '111111' : '000000';
    const tokens = await Promise.all([0, 1, 2].map(() => challenge(u.email, u.password)));
    // Five wrong codes on each of two mfaTokens (within each one's limit) use up the account's ten.
    const burst = await Promise.all([...Array.from({ length: 5 }, () => verify(tokens[0]!, wrong)), ...Array.from({ length: 5 }, () => verify(tokens[1]!, wrong))]);
    expect(burst.map((r) => r.status)).toEqual(Array(10).fill(401));
    // A third mfaToken, with the right code: refused, the account's limit is reached.
    expect((await verify(tokens[2]!, right)).status).toBe(429);
    expect(await events(u.id, 'mfa_challenge_failed')).toBe(10);
    expect(await events(u.id, 'mfa_verified')).toBe(0);
  });

  it('a recovery code signs in once (aal2), in any case and with spaces; a new set retires the old one', async () => {
    const u = await mfaUser();
    const code = u.recoveryCodes[0]!;
    const typed = ` ${code.toUpperCase().replace('-', ' ')} `.trim();
    const res = await verify(await challenge(u.email, u.password), typed, 'recovery_code');
    expect(res.status, res.text).toBe(200);
    expect(claims(res.body.accessToken as string)).toMatchObject({ aal: 'aal2', amr: ['pwd', 'mfa'] });
    expect(await events(u.id, 'recovery_code_used')).toBe(1);
    const twice = await verify(await challenge(u.email, u.password), code, 'recovery_code');
    expect(twice.status).toBe(401);
    expect(twice.body.code).toBe('invalid_mfa_code');
    expect((await h.call('GET', '/api/v1/users/me/mfa', { token: res.body.accessToken })).body.recoveryCodesRemaining).toBe(9);
    // A TOTP code is not a recovery code, nor the other way round.
    expect((await verify(await challenge(u.email, u.password), u.recoveryCodes[1]!, 'totp')).status).toBe(400);

    const fresh = await h.call('POST', '/api/v1/users/me/mfa/recovery-codes', { token: res.body.accessToken });
    expect(fresh.status).toBe(200);
    (fresh.body.recoveryCodes as string[]).forEach(keep);
    expect(await events(u.id, 'recovery_codes_regenerated')).toBe(1);
    expect((await verify(await challenge(u.email, u.password), u.recoveryCodes[1]!, 'recovery_code')).status).toBe(401);
    expect((await verify(await challenge(u.email, u.password), fresh.body.recoveryCodes[0], 'recovery_code')).status).toBe(200);
  });

  describe('step-up', () => {
    async function ageSession(accessToken: string, refreshToken: string, minutes: number) {
      const sid = claims(accessToken).sid as string;
      await h.database.db.query(`UPDATE sessions SET authenticated_at = now() - make_interval(mins => $2) WHERE id = $1`, [sid, minutes]);
      const r = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken } });
      return r.body as { accessToken: string; refreshToken: string };
    }

    it('refuses MFA changes without a recent sign-in (403 reauthentication_required) until re-authentication', async () => {
      const u = await h.newUser();
      const t = await h.login(u.email, u.password);
      const old = await ageSession(t.accessToken, t.refreshToken, 16);
      const refused = await h.call('POST', '/api/v1/users/me/mfa/totp', { token: old.accessToken });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('reauthentication_required');
      expect(await count('SELECT count(*)::int AS n FROM mfa_factors WHERE user_id = $1', [u.id])).toBe(0);

      const wrong = await h.call('POST', '/api/v1/auth/reauthenticate', { token: old.accessToken, body: { password: 'not the password' } });
      expect(wrong.status).toBe(403);
      expect(wrong.body.code).toBe('wrong_password');
      const re = await h.call('POST', '/api/v1/auth/reauthenticate', { token: old.accessToken, body: { password: u.password } });
      expect(re.status).toBe(200);
      expect(claims(re.body.accessToken as string)).toMatchObject({ aal: 'aal1', amr: ['pwd'] });
      expect(await events(u.id, 'reauthenticated')).toBe(1);
      expect((await h.call('POST', '/api/v1/users/me/mfa/totp', { token: re.body.accessToken })).status).toBe(201);
    });

    it('with MFA on, needs aal2: a password re-authentication is not enough, a code is', async () => {
      const u = await mfaUser();
      const t = await verify(await challenge(u.email, u.password), keep(codeAt(u.secret, await safeStep())));
      const pwd = await h.call('POST', '/api/v1/auth/reauthenticate', { token: t.body.accessToken, body: { password: u.password } });
      expect(claims(pwd.body.accessToken as string).aal).toBe('aal1');
      const refused = await h.call('POST', '/api/v1/users/me/mfa/recovery-codes', { token: pwd.body.accessToken });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('reauthentication_required');
      const del = await h.call('DELETE', `/api/v1/users/me/mfa/totp/${u.factorId}`, { token: pwd.body.accessToken });
      expect(del.status).toBe(403);

      const wrongCode = await h.call('POST', '/api/v1/auth/reauthenticate', { token: pwd.body.accessToken, body: { code: '000000' === codeAt(u.secret, Date.now()) ? '111111' : '000000' } });
      expect(wrongCode.status).toBe(403);
      expect(wrongCode.body.code).toBe('invalid_mfa_code');
      const code = await h.call('POST', '/api/v1/auth/reauthenticate', { token: pwd.body.accessToken, body: { code: keep(codeAt(u.secret, Date.now() + STEP_MS)) } });
      expect(code.status, code.text).toBe(200);
      expect(claims(code.body.accessToken as string)).toMatchObject({ aal: 'aal2', amr: expect.arrayContaining(['pwd', 'otp', 'mfa']) });
      const ok = await h.call('POST', '/api/v1/users/me/mfa/recovery-codes', { token: code.body.accessToken });
      expect(ok.status).toBe(200);
      (ok.body.recoveryCodes as string[]).forEach(keep);
    });

    it('re-authentication needs a token', async () => {
      expect((await h.call('POST', '/api/v1/auth/reauthenticate', { body: { password: 'whatever12' } })).status).toBe(401);
    });
  });

  it('removing the active factor turns MFA off: other sessions end, a notice is mailed, login gives tokens again', async () => {
    const u = await mfaUser();
    const a = await verify(await challenge(u.email, u.password), keep(codeAt(u.secret, await safeStep())));
    const b = await verify(await challenge(u.email, u.password), keep(codeAt(u.secret, Date.now() + STEP_MS)));
    const del = await h.call('DELETE', `/api/v1/users/me/mfa/totp/${u.factorId}`, { token: a.body.accessToken });
    expect(del.status).toBe(204);
    expect((await h.call('GET', '/api/v1/users/me', { token: b.body.accessToken })).status).toBe(401);
    expect(await count('SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1', [u.id])).toBe(0);
    expect(await events(u.id, 'mfa_disabled')).toBe(1);
    await h.smtp.waitFor((m) => m.to.includes(u.email) && /Two-factor sign-in is off/.test(m.subject));
    const login = await h.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } });
    expect(login.body.accessToken).toBeTypeOf('string');
    expect((await h.call('POST', '/api/v1/users/me/mfa/recovery-codes', { token: login.body.accessToken })).body.code).toBe('mfa_not_enabled');
  });

  it('another user cannot activate, remove or see my factor (404)', async () => {
    const owner = await h.newUser();
    const ot = await h.login(owner.email, owner.password);
    const enrol = await h.call('POST', '/api/v1/users/me/mfa/totp', { token: ot.accessToken });
    keep(enrol.body.secret);
    const other = await h.newUser();
    const xt = await h.login(other.email, other.password);
    const act = await h.call('POST', `/api/v1/users/me/mfa/totp/${enrol.body.factorId}/activate`, { token: xt.accessToken, body: { code: keep(codeAt(enrol.body.secret, Date.now())) } });
    expect(act.status).toBe(404);
    expect(act.body.code).toBe('mfa_factor_not_found');
    const del = await h.call('DELETE', `/api/v1/users/me/mfa/totp/${enrol.body.factorId}`, { token: xt.accessToken });
    expect(del.status).toBe(404);
    expect((await h.call('GET', '/api/v1/users/me/mfa', { token: xt.accessToken })).body).toEqual({ factors: [], recoveryCodesRemaining: 0 });
    const row = (await h.database.db.query('SELECT activated_at FROM mfa_factors WHERE id = $1', [enrol.body.factorId])).rows[0];
    expect(row).toEqual({ activated_at: null });
  });

  it('a second enrolment while MFA is on is 409; an activation of an active factor too', async () => {
    const u = await mfaUser();
    const t = await verify(await challenge(u.email, u.password), keep(codeAt(u.secret, await safeStep())));
    const again = await h.call('POST', '/api/v1/users/me/mfa/totp', { token: t.body.accessToken });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('mfa_already_enabled');
    const reactivate = await h.call('POST', `/api/v1/users/me/mfa/totp/${u.factorId}/activate`, { token: t.body.accessToken, body: { code: keep(codeAt(u.secret, Date.now() + STEP_MS)) } });
    expect(reactivate.status).toBe(409);
    expect(reactivate.body.code).toBe('mfa_already_enabled');
    expect(await count('SELECT count(*)::int AS n FROM mfa_recovery_codes WHERE user_id = $1 AND used_at IS NULL', [u.id])).toBe(10);
  });

  it('bad input is a 4xx problem and writes nothing', async () => {
    const u = await mfaUser();
    const token = await challenge(u.email, u.password);
    const snapshot = async () => ({
      events: await count('SELECT count(*)::int AS n FROM security_events WHERE user_id = $1', [u.id]),
      sessions: await count('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [u.id]),
      used: await count('SELECT count(*)::int AS n FROM mfa_challenges WHERE user_id = $1 AND used_at IS NOT NULL', [u.id]),
      factors: await count('SELECT count(*)::int AS n FROM mfa_factors WHERE user_id = $1', [u.id]),
    });
    const before = await snapshot();
    const bodies: unknown[] = [
      {},
      { mfaToken: token },
      { mfaToken: token, method: 'sms', code: '123456' },
      { mfaToken: token, method: 'totp', code: 'abcdef' },
      { mfaToken: token, method: 'totp', code: '12345' },
      { mfaToken: token, method: 'totp', code: 123456 },
      { mfaToken: token, method: 'totp', code: '123456', extra: 1 },
      { mfaToken: token, method: 'recovery_code', code: '123456' },
      { mfaToken: token, method: 'recovery_code', code: 'abcde<fghjk>' },
      { mfaToken: 'short', method: 'totp', code: '123456' },
    ];
    for (const body of bodies) {
      const r = await h.call('POST', '/api/v1/auth/mfa/verify', { body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers['content-type']).toMatch(/problem\+json/);
    }
    const t = u.tokens.accessToken;
    const bad = [
      await h.call('POST', '/api/v1/auth/reauthenticate', { token: t, body: { password: u.password, code: '123456' } }),
      await h.call('POST', '/api/v1/auth/reauthenticate', { token: t, body: {} }),
      await h.call('POST', '/api/v1/auth/reauthenticate', { token: t, body: { code: '12' } }),
      await h.call('POST', `/api/v1/users/me/mfa/totp/not-a-uuid/activate`, { token: t, body: { code: '123456' } }),
      await h.call('POST', `/api/v1/users/me/mfa/totp/${u.factorId}/activate`, { token: t, body: { code: 'x' } }),
      await h.call('DELETE', `/api/v1/users/me/mfa/totp/not-a-uuid`, { token: t }),
      await h.call('POST', '/api/v1/auth/not-me', { body: { token: 'not-a-real-token-at-all' } }),
      await h.call('POST', '/api/v1/auth/not-me', { body: {} }),
    ];
    for (const r of bad) {
      expect(r.status, r.text).toBeGreaterThanOrEqual(400);
      expect(r.status, r.text).toBeLessThan(500);
    }
    expect(bad.map((r) => r.status)).toEqual([400, 400, 400, 400, 400, 400, 400, 400]);
    expect(await snapshot()).toEqual(before);
  });

  it('never logs a secret, a code, a recovery code or an mfaToken', async () => {
    expect(secrets.size).toBeGreaterThan(20);
    expect(logLines.length).toBeGreaterThan(20);
    const log = logLines.join('\n');
    for (const s of secrets) {
      if (/^[0-9]{6}$/.test(s)) {
        // A 6-digit code may occur inside a number (a timestamp); it must not stand alone as a value.
        expect(log, 'a TOTP code in the logs').not.toMatch(new RegExp(`["=:\\s]${s}["&,\\s}]`));
      } else {
        expect(log, 'a secret in the logs').not.toContain(s);
      }
    }
  });
});
