/** One-click unsubscribe (RFC 8058) from a real review mail: the link works, a forged one does not. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { SERVICE_CLIENT, startAuth, type AuthHarness } from '../helpers/auth_app.js';

describe.skipIf(!hasPostgres)('unsubscribe from review mails', () => {
  let h: AuthHarness;
  let serviceToken: string;
  beforeAll(async () => {
    h = await startAuth();
    const res = await h.call('POST', '/api/v1/auth/token', { form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } });
    serviceToken = res.body.access_token;
  });
  afterAll(async () => {
    await h?.close();
  });

  const reviewMail = (userId: string, key: string) =>
    h.call('POST', '/api/v1/notifications', {
      token: serviceToken,
      body: { userId, template: 'review_created', idempotencyKey: key, data: { courseTitle: 'SQL', rating: 5, authorName: 'Bob' } },
    });

  it('the List-Unsubscribe URL of a review mail turns review mails off in one POST', async () => {
    const user = await h.newUser({ role: 'instructor' });
    expect((await reviewMail(user.id, 'k1')).body.status).toBe('queued');
    const mail = await h.smtp.waitFor((m) => m.to.includes(user.email));
    const header = /List-Unsubscribe: <([^>]+)>/.exec(mail.raw.replace(/\r?\n[ \t]+/g, ' '));
    expect(header).not.toBeNull();
    const url = new URL(header![1]!);
    expect(url.pathname).toBe('/api/v1/users/unsubscribe');

    const forged = await h.call('POST', `/api/v1/users/unsubscribe?token=${url.searchParams.get('token')!.slice(0, -2)}xx`, {
      form: { 'List-Unsubscribe': 'One-Click' },
    });
    expect(forged.status).toBe(400);
    const otherUser = await h.newUser();
    const swapped = `${otherUser.id}.${url.searchParams.get('token')!.split('.')[1]}`;
    expect((await h.call('POST', `/api/v1/users/unsubscribe?token=${swapped}`, { body: {} })).status).toBe(400);

    const res = await h.call('POST', `${url.pathname}${url.search}`, { form: { 'List-Unsubscribe': 'One-Click' } });
    expect(res.status).toBe(200);
    const { accessToken } = await h.login(user.email, user.password);
    const me = await h.call('GET', '/api/v1/users/me', { token: accessToken });
    expect(me.body.preferences.reviewEmails).toBe(false);
    expect((await reviewMail(user.id, 'k2')).body.status).toBe('suppressed');
    // The other user's preference is untouched.
    const other = await h.login(otherUser.email, otherUser.password);
    expect((await h.call('GET', '/api/v1/users/me', { token: other.accessToken })).body.preferences.reviewEmails).toBe(true);
  });

  it('the unsubscribe page only shows a button; it changes nothing by itself', async () => {
    const user = await h.newUser();
    const page = await h.call('GET', `/api/v1/auth/pages/unsubscribe?token=${user.id}.whatever`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(String(page.headers['content-security-policy'])).toContain("default-src 'none'");
    expect(page.text).not.toContain(user.id);
    const { rows } = await h.database.db.query<{ notify_reviews: boolean }>('SELECT notify_reviews FROM users WHERE id = $1', [user.id]);
    expect(rows[0]!.notify_reviews).toBe(true);
  });
});
