/**
 * Sign in with an OpenID Connect provider (issue 19), end to end against a real provider started here
 * (oidc-provider with its development interactions), driven over HTTP with a cookie jar.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { TEST_CLIENT, startProvider, walkProvider, type TestProvider } from '../helpers/oidc.js';

const PUBLIC_URL = 'http://auth.test';
const APP = 'http://app.test';
const RETURN = `${APP}/signed-in`;
const callbackUri = (id: string) => `${PUBLIC_URL}/api/v1/auth/oidc/${id}/callback`;

const rand = () => randomBytes(4).toString('hex');
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;

describe.skipIf(!hasPostgres)('sign in with an OpenID Connect provider', () => {
  let h: AuthHarness;
  let idp: TestProvider;
  let flaky: TestProvider;

  beforeAll(async () => {
    idp = await startProvider([callbackUri('dev')]);
    flaky = await startProvider([callbackUri('flaky')]);
    const provider = (id: string, issuer: string) => ({ id, name: id.toUpperCase(), issuer, ...TEST_CLIENT });
    h = await startAuth({
      publicUrl: PUBLIC_URL,
      appUrl: APP,
      oidc: {
        allowInsecure: true,
        providers: [provider('dev', idp.issuer), provider('flaky', flaky.issuer), provider('down', 'http://127.0.0.1:9')],
      },
    });
  }, 30_000);
  afterAll(async () => {
    await h?.close();
    await idp?.stop();
    await flaky?.stop();
  });

  function account(verified = true) {
    const id = `acct-${rand()}`;
    const email = `${id}@idp.example.com`;
    idp.accounts.set(id, { email, email_verified: verified, name: `Person ${id}` });
    return { id, email };
  }

  /** GET start; answers the provider URL and the binding cookie. */
  async function start(provider = 'dev', redirectTo = RETURN) {
    const res = await h.call('GET', `/api/v1/auth/oidc/${provider}/start?redirectTo=${encodeURIComponent(redirectTo)}`);
    expect(res.status, res.text).toBe(302);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^oidc_browser=[A-Za-z0-9_-]{43}; Path=\/api\/v1\/auth\/oidc; Max-Age=600; HttpOnly; SameSite=Lax$/);
    return { location: String(res.headers.location), cookie: setCookie.split(';')[0]! };
  }

  /** Our callback, as the browser would open it. */
  async function callback(url: string, cookie?: string) {
    expect(url.startsWith(PUBLIC_URL)).toBe(true);
    const res = await h.call('GET', url.slice(PUBLIC_URL.length), { headers: cookie ? { cookie } : {} });
    return res;
  }

  /** A whole browser sign-in; answers the final redirect to the front end, parsed. */
  async function signIn(login: string, provider = 'dev') {
    const started = await start(provider);
    const back = await walkProvider(started.location, login);
    const res = await callback(back, started.cookie);
    expect(res.status, res.text).toBe(302);
    // The code in the URL reaches no other site as a Referer, and no cache keeps the answer.
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['cache-control']).toBe('no-store');
    const location = new URL(String(res.headers.location));
    expect(location.origin + location.pathname).toBe(RETURN);
    return location.searchParams;
  }

  async function exchange(code: string) {
    return h.call('POST', '/api/v1/auth/oidc/exchange', { body: { code } });
  }

  const count = async (sql: string, params: unknown[]) => Number((await h.database.db.query<{ n: string }>(sql, params)).rows[0]!.n);
  const usersWith = (email: string) => count('SELECT count(*) AS n FROM users WHERE email = $1', [email]);
  const eventsOf = async (userId: string) =>
    (await h.database.db.query<{ event: string; details: Record<string, unknown> }>('SELECT event, details FROM security_events WHERE user_id = $1 ORDER BY created_at, id', [userId])).rows;

  it('lists the configured providers (public)', async () => {
    const res = await h.call('GET', '/api/v1/auth/providers');
    expect(res.status).toBe(200);
    expect(res.body.items.map((p: { id: string }) => p.id)).toEqual(['dev', 'flaky', 'down']);
    expect(res.body.items[0]).toEqual({ id: 'dev', name: 'DEV', startUrl: `${PUBLIC_URL}/api/v1/auth/oidc/dev/start` });
    expect(JSON.stringify(res.body)).not.toContain(TEST_CLIENT.clientSecret);
  });

  it('start redirects to the provider with the code flow, PKCE S256, state and nonce', async () => {
    const { location } = await start();
    const url = new URL(location);
    expect(url.origin).toBe(idp.issuer);
    const q = url.searchParams;
    expect(q.get('response_type')).toBe('code');
    expect(q.get('client_id')).toBe(TEST_CLIENT.clientId);
    expect(q.get('redirect_uri')).toBe(callbackUri('dev'));
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(q.get('state')).not.toBe(q.get('nonce'));
    expect(q.get('scope')).toBe('openid email profile');
  });

  it('a new identity with a verified e-mail creates a verified account; the code gives what a login gives, once; the next sign-in is the same account', async () => {
    const a = account();
    const params = await signIn(a.id);
    expect(params.get('error')).toBeNull();
    const code = params.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect([...params.keys()].sort()).toEqual(['code']);

    const { rows } = await h.database.db.query<{ id: string; password_hash: string | null; email_verified_at: Date | null; role: string; display_name: string }>(
      'SELECT id, password_hash, email_verified_at, role, display_name FROM users WHERE email = $1',
      [a.email],
    );
    expect(rows).toHaveLength(1);
    const user = rows[0]!;
    expect(user).toMatchObject({ password_hash: null, role: 'student', display_name: `Person ${a.id}` });
    expect(user.email_verified_at).not.toBeNull();
    expect(await count('SELECT count(*) AS n FROM user_identities WHERE user_id = $1 AND provider = $2 AND subject = $3', [user.id, 'dev', a.id])).toBe(1);
    // The code is stored hashed, never as itself.
    const hashed = createHash('sha256').update(code).digest('base64url');
    expect(await h.store.get(`oidc:code:${code}`)).toBeNull();
    expect(await h.store.get(`oidc:code:${hashed}`)).not.toBeNull();

    const res = await exchange(code);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ tokenType: 'Bearer', user: { id: user.id, email: a.email, emailVerified: true, role: 'student' } });
    expect(res.headers['cache-control']).toBe('no-store');
    const claims = claimsOf(res.body.accessToken);
    expect(claims).toMatchObject({ sub: user.id, amr: ['fed'], aal: 'aal1' });
    // The tokens work like any login's.
    const me = await h.call('GET', '/api/v1/users/me', { token: res.body.accessToken });
    expect(me.status).toBe(200);
    const refreshed = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: res.body.refreshToken } });
    expect(refreshed.status).toBe(200);

    // Single use.
    const again = await exchange(code);
    expect(again.status).toBe(400);
    expect(again.body.code).toBe('invalid_oidc_code');
    expect(await count('SELECT count(*) AS n FROM sessions WHERE user_id = $1', [user.id])).toBe(1);

    // The next sign-in is the same account; no second one.
    const second = await signIn(a.id);
    const res2 = await exchange(second.get('code')!);
    expect(res2.status).toBe(200);
    expect(res2.body.user.id).toBe(user.id);
    expect(await usersWith(a.email)).toBe(1);
    const events = await eventsOf(user.id);
    expect(events.map((e) => e.event)).toEqual(['identity_linked', 'oidc_login', 'oidc_login']);
    expect(events[0]!.details).toMatchObject({ provider: 'dev', accountCreated: true });
    expect(JSON.stringify(events)).not.toContain(code);

    // No password: a password login refuses it like a wrong password.
    const login = await h.call('POST', '/api/v1/auth/login', { body: { email: a.email, password: 'whatever-password' } });
    expect(login.status).toBe(401);
    expect(login.body.code).toBe('invalid_credentials');
  });

  it('one code exchanged several times at once: exactly one session', async () => {
    const a = account();
    const code = (await signIn(a.id)).get('code')!;
    const results = await Promise.all([exchange(code), exchange(code), exchange(code)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400]);
    expect(await count('SELECT count(*) AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1', [a.email])).toBe(1);
  });

  it('an unknown code is refused, and so is a malformed one', async () => {
    const res = await exchange(randomBytes(32).toString('base64url'));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('invalid_oidc_code');
    const bad = await exchange('../../etc');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('a replayed, unknown or missing state is refused (400 invalid_state), and nothing is written', async () => {
    const a = account();
    const started = await start();
    const back = await walkProvider(started.location, a.id);
    const first = await callback(back, started.cookie);
    expect(first.status).toBe(302);
    expect(new URL(String(first.headers.location)).searchParams.get('code')).toBeTruthy();
    const users = await usersWith(a.email);

    const replay = await callback(back, started.cookie);
    expect(replay.status).toBe(400);
    expect(replay.body.code).toBe('invalid_state');

    const url = new URL(back);
    url.searchParams.set('state', randomBytes(16).toString('base64url'));
    const wrong = await callback(url.toString(), started.cookie);
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('invalid_state');

    url.searchParams.delete('state');
    const missing = await callback(url.toString(), started.cookie);
    expect(missing.status).toBe(400);
    expect(missing.body.code).toBe('invalid_state');
    expect(await usersWith(a.email)).toBe(users);
  });

  it('a callback in another browser than the one that started (no or another binding cookie) ends in error=invalid_state, nothing written', async () => {
    for (const cookie of [undefined, `oidc_browser=${randomBytes(32).toString('base64url')}`]) {
      const a = account();
      const started = await start();
      const back = await walkProvider(started.location, a.id);
      const res = await callback(back, cookie);
      expect(res.status).toBe(302);
      const params = new URL(String(res.headers.location)).searchParams;
      expect(params.get('error')).toBe('invalid_state');
      expect(params.get('code')).toBeNull();
      expect(await usersWith(a.email)).toBe(0);
    }
  });

  it('an ID token with another nonce than the one stored is refused (error=invalid_response), nothing written', async () => {
    const a = account();
    const started = await start();
    const state = new URL(started.location).searchParams.get('state')!;
    const key = `oidc:state:${createHash('sha256').update(state).digest('base64url')}`;
    const stored = JSON.parse((await h.store.get(key))!);
    expect(stored.nonce).toBe(new URL(started.location).searchParams.get('nonce'));
    await h.store.set(key, JSON.stringify({ ...stored, nonce: 'another-nonce-0123456789' }), 60_000);
    const back = await walkProvider(started.location, a.id);
    const res = await callback(back, started.cookie);
    expect(res.status).toBe(302);
    const params = new URL(String(res.headers.location)).searchParams;
    expect(params.get('error')).toBe('invalid_response');
    expect(params.get('code')).toBeNull();
    expect(await usersWith(a.email)).toBe(0);
  });

  it('an unverified e-mail neither creates nor links an account (error=email_not_verified)', async () => {
    const a = account(false);
    const params = await signIn(a.id);
    expect(params.get('error')).toBe('email_not_verified');
    expect(params.get('code')).toBeNull();
    expect(await usersWith(a.email)).toBe(0);

    // Not even to an account that holds the address.
    const u = await h.newUser();
    const b = `acct-${rand()}`;
    idp.accounts.set(b, { email: u.email, email_verified: false });
    const again = await signIn(b);
    expect(again.get('error')).toBe('email_not_verified');
    expect(await count('SELECT count(*) AS n FROM user_identities WHERE user_id = $1', [u.id])).toBe(0);
  });

  it('an address an account holds is never linked silently: account_link_required; the signed-in owner links it explicitly; another account cannot take it', async () => {
    const u = await h.newUser();
    const sub = `acct-${rand()}`;
    idp.accounts.set(sub, { email: u.email.toUpperCase(), email_verified: true, name: 'Owner' });

    const refused = await signIn(sub);
    expect(refused.get('error')).toBe('account_link_required');
    expect(refused.get('code')).toBeNull();
    expect(await count('SELECT count(*) AS n FROM user_identities WHERE subject = $1', [sub])).toBe(0);

    // The owner, signed in, links it.
    const { accessToken } = await h.login(u.email, u.password);
    const link = await h.call('POST', '/api/v1/users/me/identities', { token: accessToken, body: { provider: 'dev', redirectTo: `${APP}/settings` } });
    expect(link.status, link.text).toBe(200);
    const authorizationUrl = new URL(link.body.authorizationUrl);
    expect(authorizationUrl.origin).toBe(idp.issuer);
    expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
    const back = await walkProvider(link.body.authorizationUrl, sub);
    const done = await callback(back);
    expect(done.status).toBe(302);
    expect(String(done.headers.location)).toBe(`${APP}/settings?linked=dev`);
    const list = await h.call('GET', '/api/v1/users/me/identities', { token: accessToken });
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([
      { id: expect.any(String), provider: 'dev', providerName: 'DEV', email: u.email, createdAt: expect.any(String), lastUsedAt: expect.any(String) },
    ]);
    expect((await eventsOf(u.id)).map((e) => e.event)).toContain('identity_linked');

    // Now the provider signs the owner in.
    const params = await signIn(sub);
    const res = await exchange(params.get('code')!);
    expect(res.status).toBe(200);
    expect(res.body.user.id).toBe(u.id);

    // Another signed-in user cannot link the same identity.
    const other = await h.newUser();
    const otherLogin = await h.login(other.email, other.password);
    const steal = await h.call('POST', '/api/v1/users/me/identities', { token: otherLogin.accessToken, body: { provider: 'dev', redirectTo: `${APP}/settings` } });
    const stolen = await callback(await walkProvider(steal.body.authorizationUrl, sub));
    expect(String(stolen.headers.location)).toBe(`${APP}/settings?error=identity_in_use`);
    expect(await count('SELECT count(*) AS n FROM user_identities WHERE user_id = $1', [other.id])).toBe(0);
  });

  it('a link whose session ended before the provider returned does not finish (error=invalid_state)', async () => {
    const u = await h.newUser();
    const sub = `acct-${rand()}`;
    idp.accounts.set(sub, { email: `${sub}@idp.example.com`, email_verified: true });
    const login = await h.login(u.email, u.password);
    const link = await h.call('POST', '/api/v1/users/me/identities', { token: login.accessToken, body: { provider: 'dev', redirectTo: `${APP}/settings` } });
    expect(link.status).toBe(200);
    const back = await walkProvider(link.body.authorizationUrl, sub);
    expect((await h.call('POST', '/api/v1/auth/logout', { token: login.accessToken, body: {} })).status).toBe(204);
    const res = await callback(back);
    expect(String(res.headers.location)).toBe(`${APP}/settings?error=invalid_state`);
    expect(await count('SELECT count(*) AS n FROM user_identities WHERE user_id = $1', [u.id])).toBe(0);
  });

  it('linking needs a signed-in user, a known provider and an allowed redirect', async () => {
    const noToken = await h.call('POST', '/api/v1/users/me/identities', { body: { provider: 'dev', redirectTo: RETURN } });
    expect(noToken.status).toBe(401);
    const u = await h.newUser();
    const { accessToken } = await h.login(u.email, u.password);
    const unknown = await h.call('POST', '/api/v1/users/me/identities', { token: accessToken, body: { provider: 'nope', redirectTo: RETURN } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('oidc_provider_not_found');
    const evil = await h.call('POST', '/api/v1/users/me/identities', { token: accessToken, body: { provider: 'dev', redirectTo: 'https://evil.example/x' } });
    expect(evil.status).toBe(400);
    expect(evil.body.code).toBe('redirect_not_allowed');
    const extra = await h.call('POST', '/api/v1/users/me/identities', { token: accessToken, body: { provider: 'dev', redirectTo: RETURN, userId: u.id } });
    expect(extra.status).toBe(400);
  });

  it('unlinking: only my own identities, never the last way to sign in', async () => {
    // A provider-made account: no password, one identity.
    const a = account();
    const made = await exchange((await signIn(a.id)).get('code')!);
    const token = made.body.accessToken as string;
    const mine = await h.call('GET', '/api/v1/users/me/identities', { token });
    expect(mine.body.items).toHaveLength(1);
    const onlyId = mine.body.items[0].id as string;
    const last = await h.call('DELETE', `/api/v1/users/me/identities/${onlyId}`, { token });
    expect(last.status).toBe(409);
    expect(last.body.code).toBe('last_sign_in_method');

    // Someone else cannot remove it (and learns nothing: the same 404 as an unknown id).
    const other = await h.newUser();
    const otherLogin = await h.login(other.email, other.password);
    const foreign = await h.call('DELETE', `/api/v1/users/me/identities/${onlyId}`, { token: otherLogin.accessToken });
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('identity_not_found');
    expect(await count('SELECT count(*) AS n FROM user_identities WHERE id = $1', [onlyId])).toBe(1);
    const othersList = await h.call('GET', '/api/v1/users/me/identities', { token: otherLogin.accessToken });
    expect(othersList.body.items).toEqual([]);

    // With a second identity, the first can go.
    const second = `acct-${rand()}`;
    idp.accounts.set(second, { email: `${second}@idp.example.com`, email_verified: true });
    const link = await h.call('POST', '/api/v1/users/me/identities', { token, body: { provider: 'dev', redirectTo: `${APP}/settings` } });
    const linked = await callback(await walkProvider(link.body.authorizationUrl, second));
    expect(String(linked.headers.location)).toBe(`${APP}/settings?linked=dev`);
    const removed = await h.call('DELETE', `/api/v1/users/me/identities/${onlyId}`, { token });
    expect(removed.status).toBe(204);
    const after = await h.call('GET', '/api/v1/users/me/identities', { token });
    expect(after.body.items.map((i: { id: string }) => i.id)).not.toContain(onlyId);
    expect(after.body.items).toHaveLength(1);
    const events = await eventsOf(made.body.user.id);
    expect(events.find((e) => e.event === 'identity_unlinked')?.details).toEqual({ provider: 'dev', identityId: onlyId });
    // And now the remaining one is the last.
    const lastAgain = await h.call('DELETE', `/api/v1/users/me/identities/${after.body.items[0].id}`, { token });
    expect(lastAgain.status).toBe(409);

    // An account with a password may remove its only identity.
    const u = await h.newUser();
    const sub = `acct-${rand()}`;
    idp.accounts.set(sub, { email: `${sub}@idp.example.com`, email_verified: true });
    const login = await h.login(u.email, u.password);
    const start = await h.call('POST', '/api/v1/users/me/identities', { token: login.accessToken, body: { provider: 'dev', redirectTo: `${APP}/settings` } });
    await callback(await walkProvider(start.body.authorizationUrl, sub));
    const list = await h.call('GET', '/api/v1/users/me/identities', { token: login.accessToken });
    const gone = await h.call('DELETE', `/api/v1/users/me/identities/${list.body.items[0].id}`, { token: login.accessToken });
    expect(gone.status).toBe(204);
  });

  it('a disabled account is refused at the callback and at the exchange', async () => {
    const a = account();
    const code = (await signIn(a.id)).get('code')!;
    await h.database.db.query('UPDATE users SET disabled_at = now() WHERE email = $1', [a.email]);
    const res = await exchange(code);
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('account_disabled');
    const params = await signIn(a.id);
    expect(params.get('error')).toBe('account_disabled');
  });

  it('a provider that refuses the sign-in ends in error=access_denied', async () => {
    const started = await start();
    const state = new URL(started.location).searchParams.get('state')!;
    const res = await callback(`${callbackUri('dev')}?error=access_denied&state=${state}&iss=${encodeURIComponent(idp.issuer)}`, started.cookie);
    expect(res.status).toBe(302);
    expect(new URL(String(res.headers.location)).searchParams.get('error')).toBe('access_denied');
  });

  it('unknown provider 404, redirectTo off the allowed origins 400', async () => {
    const unknown = await h.call('GET', `/api/v1/auth/oidc/nope/start?redirectTo=${encodeURIComponent(RETURN)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('oidc_provider_not_found');
    for (const bad of ['https://evil.example/signed-in', 'http://app.test.evil.example/', 'javascript:alert(1)//app.test', '/signed-in', 'http://user@app.test/x']) {
      const res = await h.call('GET', `/api/v1/auth/oidc/dev/start?redirectTo=${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.code, bad).toMatch(/^(redirect_not_allowed|validation_failed)$/);
      expect(res.headers.location).toBeUndefined();
    }
    const missing = await h.call('GET', '/api/v1/auth/oidc/dev/start');
    expect(missing.status).toBe(400);
    const unknownCallback = await h.call('GET', '/api/v1/auth/oidc/nope/callback?code=x&state=y');
    expect(unknownCallback.status).toBe(404);
  });

  it('a provider that cannot be reached: start answers 503 provider_unavailable; a callback whose token endpoint is down redirects with error=provider_unavailable; nothing written', async () => {
    const down = await h.call('GET', `/api/v1/auth/oidc/down/start?redirectTo=${encodeURIComponent(RETURN)}`);
    expect(down.status).toBe(503);
    expect(down.body.code).toBe('provider_unavailable');
    expect(down.headers['retry-after']).toBeDefined();
    expect(down.headers['set-cookie']).toBeUndefined();
    // Not cached as a failure: the next start tries again (and fails again, as quickly).
    const again = await h.call('GET', `/api/v1/auth/oidc/down/start?redirectTo=${encodeURIComponent(RETURN)}`);
    expect(again.status).toBe(503);

    const sub = `acct-${rand()}`;
    const email = `${sub}@idp.example.com`;
    flaky.accounts.set(sub, { email, email_verified: true });
    const started = await start('flaky');
    const back = await walkProvider(started.location, sub);
    await flaky.stop();
    const res = await callback(back, started.cookie);
    expect(res.status).toBe(302);
    const params = new URL(String(res.headers.location)).searchParams;
    expect(params.get('error')).toBe('provider_unavailable');
    expect(params.get('code')).toBeNull();
    expect(await usersWith(email)).toBe(0);
    expect(await count('SELECT count(*) AS n FROM user_identities WHERE subject = $1', [sub])).toBe(0);
  });
});
