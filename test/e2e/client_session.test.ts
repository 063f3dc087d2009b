/**
 * The typed clients' Session (clients/index.ts): an access token that expired or went out of date is
 * refreshed once and the call repeated, against auth-service listening on a real port.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, authClient, type AuthClient, type SessionTokens } from '../../clients/index.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { hasPostgres } from '../helpers/services.js';

describe.skipIf(!hasPostgres)('clients: Session refreshes on expiry', () => {
  let h: AuthHarness;
  let baseUrl: string;

  beforeAll(async () => {
    h = await startAuth();
    baseUrl = await h.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await h?.close();
  });

  /** A logged-in user's tokens and a client that uses a Session over them. */
  async function loggedIn() {
    const user = await h.newUser();
    const login = await h.login(user.email, user.password);
    const changes: (SessionTokens | undefined)[] = [];
    const auth: AuthClient = authClient({ baseUrl });
    const session = new Session(auth, login, (tokens) => changes.push(tokens));
    auth.use(session.middleware());
    return { user, login, session, auth, changes };
  }

  /** The same access token (session, role) with an expiry a minute ago, signed by auth-service's key. */
  async function expired(accessToken: string): Promise<string> {
    const { sub, iss, aud, ...claims } = decodeJwt(accessToken);
    delete claims.exp;
    delete claims.iat;
    delete claims.jti;
    return h.keys.sign(claims, { subject: sub!, issuer: iss!, audience: aud as string, ttlSec: -60, jti: crypto.randomUUID() });
  }

  it('refreshes an expired access token once and repeats the call, body included', async () => {
    const { login, session, auth, changes } = await loggedIn();
    const stale = await expired(login.accessToken);
    // The server really refuses it as expired.
    const direct = await authClient({ baseUrl, token: stale }).GET('/api/v1/users/me');
    expect(direct.response.status).toBe(401);
    expect(direct.error).toMatchObject({ code: 'token_expired' });

    session.set({ accessToken: stale, refreshToken: login.refreshToken });
    changes.length = 0;
    const patched = await auth.PATCH('/api/v1/users/me', { body: { displayName: 'Renamed After Refresh' } });
    expect(patched.response.status).toBe(200);
    expect(patched.data?.displayName).toBe('Renamed After Refresh');
    expect(changes).toHaveLength(1);
    expect(session.tokens?.accessToken).not.toBe(stale);
    expect(session.tokens?.refreshToken).not.toBe(login.refreshToken);
  });

  it('shares one refresh among calls that fail together', async () => {
    const { login, session, auth, changes } = await loggedIn();
    session.set({ accessToken: await expired(login.accessToken), refreshToken: login.refreshToken });
    changes.length = 0;
    const answers = await Promise.all([1, 2, 3, 4].map(() => auth.GET('/api/v1/users/me')));
    expect(answers.map((a) => a.response.status)).toEqual([200, 200, 200, 200]);
    expect(changes).toHaveLength(1);
  });

  it('ends the session when the refresh token is refused, and returns the call\'s 401', async () => {
    const { login, session, auth, changes } = await loggedIn();
    const stale = await expired(login.accessToken);
    // The MAC's first character changed (its last may be only padding bits).
    const at = login.refreshToken.lastIndexOf('.') + 1;
    const forged = login.refreshToken.slice(0, at) + (login.refreshToken[at] === 'A' ? 'B' : 'A') + login.refreshToken.slice(at + 1);
    session.set({ accessToken: stale, refreshToken: forged });
    changes.length = 0;
    const answer = await auth.GET('/api/v1/users/me');
    expect(answer.response.status).toBe(401);
    expect(answer.error).toMatchObject({ code: 'token_expired' });
    expect(session.tokens).toBeUndefined();
    expect(changes).toEqual([undefined]);
  });

  it('does not refresh for a 401 that a new token would not cure (the session was revoked)', async () => {
    const { login, session, auth, changes } = await loggedIn();
    await h.database.db.query('UPDATE sessions SET revoked_at = now() WHERE id = $1', [decodeJwt(login.accessToken).sid]);
    changes.length = 0;
    const answer = await auth.GET('/api/v1/users/me');
    expect(answer.response.status).toBe(401);
    expect(answer.error).toMatchObject({ code: 'session_revoked' });
    expect(changes).toHaveLength(0);
    expect(session.tokens?.refreshToken).toBe(login.refreshToken);
  });
});
