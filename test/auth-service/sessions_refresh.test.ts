/** Refresh-token rotation, reuse detection and its grace window, over real PostgreSQL. */
import { decodeJwt, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';

type Pair = { accessToken: string; refreshToken: string; tokenType?: string; user: { id: string; role?: string } };

describe.skipIf(!hasPostgres)('refresh tokens', () => {
  // `h` has the default 10 s grace window; `strict` shares its database with no grace at all.
  let h: AuthHarness;
  let strict: AuthHarness;
  beforeAll(async () => {
    h = await startAuth();
    strict = await startAuth({ sessions: { reuseGraceSec: 0, refreshSecret: '' } }, { database: h.database, smtp: h.smtp });
  });
  afterAll(async () => {
    await strict?.close();
    await h?.close();
  });

  const refresh = (app: AuthHarness, refreshToken: string) => app.call<Pair & { code?: string }>('POST', '/api/v1/auth/refresh', { body: { refreshToken } });

  async function freshLogin(app: AuthHarness): Promise<Pair> {
    const u = await app.newUser();
    return app.login(u.email, u.password);
  }

  it('rotates: a new pair for the same session and user, the next generation', async () => {
    const first = await freshLogin(h);
    const res = await refresh(h, first.refreshToken);
    expect(res.status).toBe(200);
    expect(res.body.tokenType).toBe('Bearer');
    expect(res.body.user.id).toBe(first.user.id);
    expect(res.body.refreshToken).not.toBe(first.refreshToken);
    expect(res.body.accessToken).not.toBe(first.accessToken);
    const [sid] = first.refreshToken.split('.');
    expect(res.body.refreshToken.startsWith(`${sid}.1.`)).toBe(true);
    expect(decodeJwt(res.body.accessToken).sid).toBe(sid);
    expect(decodeJwt(res.body.accessToken).jti).not.toBe(decodeJwt(first.accessToken).jti);

    const next = await refresh(h, res.body.refreshToken);
    expect(next.status).toBe(200);
    expect(next.body.refreshToken.startsWith(`${sid}.2.`)).toBe(true);
    const { rows } = await h.database.db.query<{ generation: number; revoked_at: Date | null }>('SELECT generation, revoked_at FROM sessions WHERE id = $1', [sid]);
    expect(rows[0]).toEqual({ generation: 2, revoked_at: null });
  });

  it('carries a role change into the refreshed access token', async () => {
    const first = await freshLogin(h);
    await h.database.db.query("UPDATE users SET role = 'instructor' WHERE id = $1", [first.user.id]);
    const res = await refresh(h, first.refreshToken);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.accessToken).role).toBe('instructor');
    expect(res.body.user.role).toBe('instructor');
  });

  it('revokes the whole session when a rotated token is reused (no grace window)', async () => {
    const first = await freshLogin(strict);
    const second = await refresh(strict, first.refreshToken);
    expect(second.status).toBe(200);

    const reuse = await refresh(strict, first.refreshToken);
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe('refresh_token_reused');

    // The thief's replay also killed the legitimate holder's newer tokens.
    const legit = await refresh(strict, second.body.refreshToken);
    expect(legit.status).toBe(401);
    expect(legit.body.code).toBe('invalid_refresh_token');
    const me = await strict.call('GET', '/api/v1/users/me', { token: second.body.accessToken });
    expect(me.status).toBe(401);
    expect(me.body.code).toBe('session_revoked');
    const [sid] = first.refreshToken.split('.');
    const { rows } = await h.database.db.query<{ revoked_reason: string }>('SELECT revoked_reason FROM sessions WHERE id = $1', [sid]);
    expect(rows[0]!.revoked_reason).toBe('refresh_token_reused');
  });

  it('within the grace window, the just-rotated token gets the current pair and the session lives on', async () => {
    const first = await freshLogin(h);
    const second = await refresh(h, first.refreshToken);
    const concurrent = await refresh(h, first.refreshToken);
    expect(concurrent.status).toBe(200);
    // Same generation as the winner's: the other tab joins it rather than forking the session.
    expect(concurrent.body.refreshToken).toBe(second.body.refreshToken);
    expect((await refresh(h, second.body.refreshToken)).status).toBe(200);
  });

  it('even within the grace window, a token two generations old is a reuse', async () => {
    const g0 = await freshLogin(h);
    const g1 = await refresh(h, g0.refreshToken);
    const g2 = await refresh(h, g1.body.refreshToken);
    expect(g2.status).toBe(200);
    const reuse = await refresh(h, g0.refreshToken);
    expect(reuse.status).toBe(401);
    expect(reuse.body.code).toBe('refresh_token_reused');
    expect((await refresh(h, g2.body.refreshToken)).status).toBe(401);
  });

  it('the grace window closes: after reuseGraceSec the previous token is a reuse', async () => {
    const first = await freshLogin(h);
    const second = await refresh(h, first.refreshToken);
    expect(second.status).toBe(200);
    const [sid] = first.refreshToken.split('.');
    await h.database.db.query("UPDATE sessions SET rotated_at = now() - interval '11 seconds' WHERE id = $1", [sid]);
    const late = await refresh(h, first.refreshToken);
    expect(late.status).toBe(401);
    expect(late.body.code).toBe('refresh_token_reused');
  });

  it('refuses a tampered MAC, a forged generation and garbage without ending the session', async () => {
    const pair = await freshLogin(h);
    const [sid, gen, mac] = pair.refreshToken.split('.') as [string, string, string];
    const flipped = `${sid}.${gen}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`;
    for (const bad of [flipped, `${sid}.5.${mac}`, 'garbage', `${sid}.${gen}`, `${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(12)}.0.${mac}`]) {
      const res = await refresh(h, bad);
      expect(res.status, bad).toBe(401);
      expect(res.body.code).toBe('invalid_refresh_token');
    }
    expect((await refresh(h, pair.refreshToken)).status).toBe(200);
  });

  it('refuses a token whose session part is not a UUID with 401, not a database error', async () => {
    const mac = 'A'.repeat(43);
    for (const bad of [`${'-'.repeat(36)}.1.${mac}`, `${'0'.repeat(36)}.1.${mac}`, `0000000-00000-0000-0000-00000000000a.1.${mac}`]) {
      const res = await refresh(h, bad);
      expect(res.status, bad).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('invalid_refresh_token');
    }
  });

  it("a token made for another server's secret is refused (the MAC is keyed)", async () => {
    // `strict` has its own refresh secret file under its own varDir.
    const pair = await freshLogin(h);
    const res = await refresh(strict, pair.refreshToken);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_refresh_token');
  });

  it('refuses a refresh for an expired session', async () => {
    const pair = await freshLogin(h);
    const [sid] = pair.refreshToken.split('.');
    await h.database.db.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [sid]);
    const res = await refresh(h, pair.refreshToken);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_refresh_token');
  });

  it("refuses a disabled user's refresh and ends that session", async () => {
    const pair = await freshLogin(h);
    await h.database.db.query('UPDATE users SET disabled_at = now() WHERE id = $1', [pair.user.id]);
    const res = await refresh(h, pair.refreshToken);
    expect(res.status).toBe(401);
    const [sid] = pair.refreshToken.split('.');
    const { rows } = await h.database.db.query<{ revoked_reason: string | null }>('SELECT revoked_reason FROM sessions WHERE id = $1', [sid]);
    expect(rows[0]!.revoked_reason).toBe('user_disabled');
  });

  it('validates the refresh body', async () => {
    const empty = await h.call('POST', '/api/v1/auth/refresh', { body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].path).toBe('body.refreshToken');
    const extra = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: 'x', sid: 'y' } });
    expect(extra.status).toBe(400);
    expect(extra.body.code).toBe('validation_failed');
  });

  it('two tabs refreshing at once both succeed and end on one generation', async () => {
    const pair = await freshLogin(h);
    const [a, b] = await Promise.all([refresh(h, pair.refreshToken), refresh(h, pair.refreshToken)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.refreshToken).toBe(b.body.refreshToken);
    const [sid] = pair.refreshToken.split('.');
    const { rows } = await h.database.db.query<{ generation: number }>('SELECT generation FROM sessions WHERE id = $1', [sid]);
    expect(rows[0]!.generation).toBe(1);
  });
});

describe.skipIf(!hasPostgres)('logout with the refresh token alone', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth();
  });
  afterAll(async () => {
    await h?.close();
  });

  const logout = (options: { token?: string; body?: Record<string, unknown> }) => h.call('POST', '/api/v1/auth/logout', options);
  const alive = async (pair: Pair) => (await h.call('GET', '/api/v1/users/me', { token: pair.accessToken })).status === 200;

  /** The same access token, expired a minute ago (signed with the service's own key). */
  async function expired(accessToken: string): Promise<string> {
    const { exp: _exp, iat: _iat, ...claims } = decodeJwt(accessToken);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: h.keys.active.kid })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 1000)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(h.keys.active.privateKey);
  }

  it('ends the session without an access token, or with an expired or broken one', async () => {
    const u = await h.newUser();
    const other = await h.login(u.email, u.password);
    for (const token of [undefined, 'expired', 'garbage.garbage.garbage']) {
      const pair = await h.login(u.email, u.password);
      const accessToken = token === 'expired' ? await expired(pair.accessToken) : token;
      if (token === 'expired') expect((await h.call('GET', '/api/v1/users/me', { token: accessToken })).body.code).toBe('token_expired');
      const res = await logout({ ...(accessToken ? { token: accessToken } : {}), body: { refreshToken: pair.refreshToken } });
      expect(res.status, String(token)).toBe(204);
      expect(await alive(pair)).toBe(false);
      expect((await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: pair.refreshToken } })).status).toBe(401);
    }
    // Scope local: the user's other session lives on.
    expect(await alive(other)).toBe(true);
  });

  it('scope global and others act on the sessions of the refresh token\'s user', async () => {
    const u = await h.newUser();
    const [a, b, c] = [await h.login(u.email, u.password), await h.login(u.email, u.password), await h.login(u.email, u.password)];
    expect((await logout({ body: { refreshToken: a.refreshToken, scope: 'others' } })).status).toBe(204);
    expect([await alive(a), await alive(b), await alive(c)]).toEqual([true, false, false]);
    expect((await logout({ body: { refreshToken: a.refreshToken, scope: 'global' } })).status).toBe(204);
    expect(await alive(a)).toBe(false);
  });

  it('without a valid access token, a refresh token that proves nothing is 401 and ends nothing', async () => {
    const u = await h.newUser();
    const pair = await h.login(u.email, u.password);
    const rotated = (await h.call<Pair>('POST', '/api/v1/auth/refresh', { body: { refreshToken: pair.refreshToken } })).body;
    const next = (await h.call<Pair>('POST', '/api/v1/auth/refresh', { body: { refreshToken: rotated.refreshToken } })).body;
    const [sid, gen, mac] = next.refreshToken.split('.') as [string, string, string];
    const bad = [
      `${sid}.${gen}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`, // tampered MAC
      pair.refreshToken, // two generations old: a reuse, not a proof
      `${'-'.repeat(36)}.1.${'A'.repeat(43)}`,
      'garbage',
    ];
    for (const refreshToken of bad) {
      for (const token of [undefined, await expired(next.accessToken)]) {
        const res = await logout({ ...(token ? { token } : {}), body: { refreshToken, scope: 'global' } });
        expect(res.status, refreshToken).toBe(401);
        expect(res.body.code).toBe('invalid_refresh_token');
      }
    }
    expect(await alive(next)).toBe(true);
  });

  it('with neither proof: 401 with the access token\'s own refusal', async () => {
    const u = await h.newUser();
    const pair = await h.login(u.email, u.password);
    const none = await logout({});
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('unauthorized');
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    const stale = await logout({ token: await expired(pair.accessToken), body: { scope: 'global' } });
    expect(stale.status).toBe(401);
    expect(stale.body.code).toBe('token_expired');
    expect(await alive(pair)).toBe(true);
  });

  it('the OpenAPI document says the access token is optional there', () => {
    const doc = h.app.swagger() as { paths: Record<string, { post: { security: Record<string, unknown>[] } }> };
    expect(doc.paths['/api/v1/auth/logout']!.post.security).toEqual([{}, { bearerAuth: [] }]);
  });
});
