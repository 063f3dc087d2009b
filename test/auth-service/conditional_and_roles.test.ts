/** Conditional profile writes (If-Match / 412) and tokens that outlive a role change. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';

describe.skipIf(!hasPostgres)('conditional writes and role freshness', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('PATCH /users/me applies only to the version named by If-Match', async () => {
    const user = await h.newUser();
    const { accessToken } = await h.login(user.email, user.password);
    const me = await h.call('GET', '/api/v1/users/me', { token: accessToken });
    const etag = String(me.headers.etag);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    const first = await h.call('PATCH', '/api/v1/users/me', { token: accessToken, headers: { 'if-match': etag }, body: { displayName: 'First' } });
    expect(first.status).toBe(200);
    expect(first.headers.etag).not.toBe(etag);
    const stale = await h.call('PATCH', '/api/v1/users/me', { token: accessToken, headers: { 'if-match': etag }, body: { displayName: 'Second' } });
    expect(stale.status).toBe(412);
    expect(stale.body.code).toBe('precondition_failed');
    const fresh = await h.call('PATCH', '/api/v1/users/me', { token: accessToken, headers: { 'if-match': String(first.headers.etag) }, body: { displayName: 'Second' } });
    expect(fresh.status).toBe(200);
    expect(fresh.body.displayName).toBe('Second');
    // The tag a write answers with is the one a GET would give.
    const again = await h.call('GET', '/api/v1/users/me', { token: accessToken });
    expect(again.headers.etag).toBe(fresh.headers.etag);
  });

  it('an admin PATCH with a stale If-Match changes nothing', async () => {
    const admin = await h.newUser({ role: 'admin' });
    const target = await h.newUser();
    const { accessToken } = await h.login(admin.email, admin.password);
    const first = await h.call('PATCH', `/api/v1/admin/users/${target.id}`, { token: accessToken, body: { role: 'instructor' } });
    expect(first.status).toBe(200);
    const stale = await h.call('PATCH', `/api/v1/admin/users/${target.id}`, { token: accessToken, headers: { 'if-match': '"stale-tag-000000000000000000"' }, body: { role: 'student' } });
    expect(stale.status).toBe(412);
    const { rows } = await h.database.db.query<{ role: string }>('SELECT role FROM users WHERE id = $1', [target.id]);
    expect(rows[0]!.role).toBe('instructor');
    const ok = await h.call('PATCH', `/api/v1/admin/users/${target.id}`, { token: accessToken, headers: { 'if-match': String(first.headers.etag) }, body: { role: 'student' } });
    expect(ok.status).toBe(200);
  });

  it('a token minted before a role change is refused until refreshed', async () => {
    const admin = await h.newUser({ role: 'admin' });
    const target = await h.newUser({ role: 'admin' });
    const adminLogin = await h.login(admin.email, admin.password);
    const targetLogin = await h.login(target.email, target.password);
    expect((await h.call('GET', '/api/v1/admin/users', { token: targetLogin.accessToken })).status).toBe(200);
    const demoted = await h.call('PATCH', `/api/v1/admin/users/${target.id}`, { token: adminLogin.accessToken, body: { role: 'student' } });
    expect(demoted.status).toBe(200);
    const old = await h.call('GET', '/api/v1/admin/users', { token: targetLogin.accessToken });
    expect(old.status).toBe(401);
    expect(old.body.code).toBe('token_outdated');
    const refreshed = await h.call('POST', '/api/v1/auth/refresh', { body: { refreshToken: targetLogin.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.user.role).toBe('student');
    expect((await h.call('GET', '/api/v1/admin/users', { token: refreshed.body.accessToken })).status).toBe(403);
  });
});
