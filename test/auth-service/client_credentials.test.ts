/** The OAuth2 client_credentials grant (RFC 6749 section 4.4) and the service token's use. */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { SERVICE_CLIENT, startAuth, type AuthHarness, type CallOptions } from '../helpers/auth_app.js';
import { outboxesSettled } from '../helpers/outbox.js';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describe.skipIf(!hasPostgres)('client_credentials', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth();
  });
  afterAll(async () => {
    await h?.close();
  });

  const token = (options: Parameters<AuthHarness['call']>[2]) => h.call('POST', '/api/v1/auth/token', options);

  function expectServiceToken(res: Awaited<ReturnType<typeof token>>): string {
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(res.headers['cache-control']).toBe('no-store');
    const claims = decodeJwt(res.body.access_token);
    expect(claims).toMatchObject({ sub: `client:${SERVICE_CLIENT.id}`, role: 'service', iss: h.config.jwt.issuer, aud: h.config.jwt.audience });
    expect(claims.sid).toBeUndefined();
    expect(decodeProtectedHeader(res.body.access_token).alg).toBe('EdDSA');
    return res.body.access_token as string;
  }

  it('issues a token for a form body (client_secret_post)', async () => {
    expectServiceToken(await token({ form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } }));
  });

  it('issues a token for a JSON body', async () => {
    expectServiceToken(await token({ body: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } }));
  });

  it('issues a token for HTTP Basic (client_secret_basic)', async () => {
    expectServiceToken(await token({ form: { grant_type: 'client_credentials' }, headers: { authorization: basic(SERVICE_CLIENT.id, SERVICE_CLIENT.secret) } }));
  });

  it('refuses a wrong secret and an unknown client with 401 invalid_client and a challenge', async () => {
    const cases: CallOptions[] = [
      { form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: 'wrong-secret-0123456789' } },
      { body: { grant_type: 'client_credentials', client_id: 'no-such-client', client_secret: SERVICE_CLIENT.secret } },
      { form: { grant_type: 'client_credentials' }, headers: { authorization: basic(SERVICE_CLIENT.id, 'wrong-secret-0123456789') } },
      // A prefix of the right secret is still wrong.
      { body: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret.slice(0, -1) } },
    ];
    for (const options of cases) {
      const res = await token(options);
      expect(res.status, JSON.stringify(options)).toBe(401);
      expect(res.body.code).toBe('invalid_client');
      expect(res.headers['www-authenticate']).toMatch(/^Basic/);
      expect(res.text).not.toContain(SERVICE_CLIENT.secret);
    }
  });

  it('refuses another grant type with 400 unsupported_grant_type', async () => {
    for (const grant of ['password', 'authorization_code', 'refresh_token']) {
      const res = await token({ form: { grant_type: grant, client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('unsupported_grant_type');
    }
  });

  it('refuses a request without client credentials (400 invalid_request) or without grant_type (400)', async () => {
    const noSecret = await token({ form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id } });
    expect(noSecret.status).toBe(400);
    expect(noSecret.body.code).toBe('invalid_request');
    const noGrant = await token({ form: { client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } });
    expect(noGrant.status).toBe(400);
    expect(noGrant.body.code).toBe('validation_failed');
  });

  it('refuses Basic credentials with broken percent-encoding with 400 invalid_request, not a 500', async () => {
    const raw = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    for (const credentials of ['%zz:secret', `${SERVICE_CLIENT.id}:%`, `${SERVICE_CLIENT.id}:%E0%A4%A`, '%C0%AF:%FF']) {
      const res = await token({ form: { grant_type: 'client_credentials' }, headers: { authorization: raw(credentials) } });
      expect(res.status, credentials).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('invalid_request');
    }
  });

  describe('POST /api/v1/notifications', () => {
    const reviewData = { courseTitle: 'Rust for Beginners', rating: 5, authorName: 'Ann', reviewTitle: 'Great', reviewBody: 'Loved it' };

    it('accepts the service token: 202 queued, the same key again is a duplicate, and the mail arrives', async () => {
      const access = expectServiceToken(await token({ form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } }));
      const instructor = await h.newUser({ role: 'instructor' });
      const body = { userId: instructor.id, template: 'review_created', data: reviewData, idempotencyKey: 'event-1' };
      const first = await h.call('POST', '/api/v1/notifications', { token: access, body });
      expect(first.status).toBe(202);
      expect(first.body.status).toBe('queued');
      const again = await h.call('POST', '/api/v1/notifications', { token: access, body });
      expect(again.status).toBe(202);
      expect(again.body).toEqual({ id: first.body.id, status: 'duplicate' });

      const mail = await h.smtp.waitFor((m) => m.to.includes(instructor.email));
      expect(mail.subject).toContain('Rust for Beginners');
      // One notification for the key, and it is sent: no second mail can come.
      await outboxesSettled({ auth: h.database.db });
      const { rows } = await h.database.db.query<{ id: string; status: string }>('SELECT id, status FROM notifications WHERE user_id = $1', [instructor.id]);
      expect(rows).toEqual([{ id: first.body.id, status: 'sent' }]);
      expect(h.smtp.to(instructor.email)).toHaveLength(1);
    });

    it('refuses a student token with 403 and an anonymous call with 401', async () => {
      const student = await h.newUser();
      const studentToken = (await h.login(student.email, student.password)).accessToken;
      const body = { userId: student.id, template: 'review_created', data: reviewData, idempotencyKey: 'event-2' };
      const refused = await h.call('POST', '/api/v1/notifications', { token: studentToken, body });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('forbidden');
      expect((await h.call('POST', '/api/v1/notifications', { body })).status).toBe(401);
      const { rows } = await h.database.db.query('SELECT 1 FROM notifications WHERE user_id = $1', [student.id]);
      expect(rows).toHaveLength(0);
    });

    it('accepts an admin token too', async () => {
      const admin = await h.newUser({ role: 'admin' });
      const adminToken = (await h.login(admin.email, admin.password)).accessToken;
      const target = await h.newUser();
      const res = await h.call('POST', '/api/v1/notifications', {
        token: adminToken,
        body: { userId: target.id, template: 'review_hidden', data: { courseTitle: 'Go', reviewTitle: 'Meh' }, idempotencyKey: 'event-3' },
      });
      expect(res.status).toBe(202);
    });

    it('refuses account templates (no one-time tokens through the API) and an unknown user', async () => {
      const access = (await token({ form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } })).body.access_token as string;
      const u = await h.newUser();
      const verify = await h.call('POST', '/api/v1/notifications', { token: access, body: { userId: u.id, template: 'verify_email', data: {}, idempotencyKey: 'k' } });
      expect(verify.status).toBe(400);
      const missing = await h.call('POST', '/api/v1/notifications', {
        token: access,
        body: { userId: '01890000-0000-7000-8000-000000000000', template: 'review_created', data: reviewData, idempotencyKey: 'k' },
      });
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('user_not_found');
    });

    it('a service token is no user: /users/me is 403 for it', async () => {
      const access = (await token({ body: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } })).body.access_token as string;
      const res = await h.call('GET', '/api/v1/users/me', { token: access });
      expect(res.status).toBe(403);
    });
  });
});
