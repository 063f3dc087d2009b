/** ASVS 3.3.2: refreshing extends a session's idle life, never past its absolute end. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';

describe.skipIf(!hasPostgres)('session lifetime', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth({ sessions: { refreshTokenTtlDays: 14, maxLifetimeDays: 30 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const expiry = async (sid: string) =>
    (await h.database.db.query<{ expires_at: Date; created_at: Date }>('SELECT expires_at, created_at FROM sessions WHERE id = $1', [sid])).rows[0]!;
  const DAY = 86_400_000;

  it('a fresh login gets the idle lifetime; a refresh near the absolute end is capped by it', async () => {
    const user = await h.newUser();
    const login = await h.login(user.email, user.password);
    const sid = login.refreshToken.split('.')[0]!;
    const fresh = await expiry(sid);
    expect(fresh.expires_at.getTime() - Date.now()).toBeGreaterThan(13.9 * DAY);
    expect(fresh.expires_at.getTime() - Date.now()).toBeLessThan(14.1 * DAY);

    // The session is 29 days old: a refresh may extend it by one day at most.
    await h.database.db.query("UPDATE sessions SET created_at = now() - interval '29 days' WHERE id = $1", [sid]);
    const refreshed = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: login.refreshToken } });
    expect(refreshed.status).toBe(200);
    const capped = await expiry(sid);
    expect(capped.expires_at.getTime()).toBeLessThanOrEqual(capped.created_at.getTime() + 30 * DAY + 1000);
    expect(capped.expires_at.getTime() - Date.now()).toBeLessThan(1.1 * DAY);

    // Past the absolute end the refresh token no longer works.
    await h.database.db.query("UPDATE sessions SET created_at = now() - interval '31 days', expires_at = now() - interval '1 second' WHERE id = $1", [sid]);
    const late = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } });
    expect(late.status).toBe(401);
  });
});
