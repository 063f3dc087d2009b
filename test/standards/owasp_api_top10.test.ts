/**
 * Standards checklist: OWASP API Security Top 10 (2023), one test per item that applies, against the
 * real platform (auth-service listening, course-service verifying its JWKS, real PostgreSQL, Redis and
 * SMTP). docs/security-standards.md maps each item to what the system does and to the test below.
 *
 * Where a test walks "every operation" it reads the served OpenAPI documents and first checks that its
 * own table of sample requests covers exactly the operations the documents name, so a route added
 * later without an entry fails here rather than going unchecked.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness, type CallResult } from '../helpers/auth_app.js';
import { startCourse, startPlatform, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { newCourseInput, publishedCourseOverHttp } from '../course-service/factories.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { AuthClient } from '../../internal/course-service/services/auth_client.js';

const now = () => Math.floor(Date.now() / 1000);

type Doc = { paths: Record<string, Record<string, { security?: Record<string, string[]>[]; parameters?: { name: string; in: string; required?: boolean; schema?: Record<string, unknown> }[]; requestBody?: { content: Record<string, { schema: unknown }> } }>> };
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

/** `METHOD /path/{param}` for every operation of a served document, with its security. */
function operations(doc: Doc): Map<string, { security: Record<string, string[]>[]; parameters: NonNullable<Doc['paths'][string][string]['parameters']> }> {
  const out = new Map<string, { security: Record<string, string[]>[]; parameters: NonNullable<Doc['paths'][string][string]['parameters']> }>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (METHODS.includes(method)) out.set(`${method.toUpperCase()} ${path}`, { security: op.security ?? [], parameters: op.parameters ?? [] });
    }
  }
  return out;
}

/** Fills `{param}` templates. */
function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => values[name] ?? randomUUID());
}

/** A local HTTP server that counts every request it gets: the canary for "nothing is fetched". */
async function canary(): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every key of a JSON value, recursively, and every string in it. */
function walk(value: unknown, keys: string[] = [], strings: string[] = []): { keys: string[]; strings: string[] } {
  if (Array.isArray(value)) for (const v of value) walk(v, keys, strings);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      keys.push(k);
      walk(v, keys, strings);
    }
  } else if (typeof value === 'string') strings.push(value);
  return { keys, strings };
}

describe.skipIf(!hasPostgres)('OWASP API Security Top 10 (2023)', () => {
  let p: Platform;
  /** A second auth-service on the same database: small rate limits, behind a proxy, one CORS origin allowed. */
  let tuned: AuthHarness;
  let alice: PlatformUser; // student, author of `review`
  let bob: PlatformUser; // student
  let carol: PlatformUser; // instructor, owner of `course`
  let dave: PlatformUser; // instructor
  let admin: PlatformUser;
  let course: { id: string; title: string };
  let review: { id: string; rating: number; title: string };
  let ipCounter = 0;
  const ip = () => `10.20.0.${++ipCounter}`;

  beforeAll(async () => {
    p = await startPlatform();
    tuned = await startAuth(
      {
        auth: { requireEmailVerification: false, verificationResendIntervalSec: 0 },
        http: { trustProxy: true, corsOrigins: ['https://app.example'] },
        rateLimits: {
          loginFailuresPerEmailIp: { limit: 50, windowSec: 60 },
          loginFailuresPerIp: { limit: 4, windowSec: 60 },
          registrationsPerIp: { limit: 2, windowSec: 60 },
          mailsPerIp: { limit: 3, windowSec: 60 },
          mailsPerEmail: { limit: 50, windowSec: 60 },
        },
      },
      { database: p.auth.database, smtp: p.auth.smtp },
    );
    [alice, bob, carol, dave, admin] = await Promise.all([
      p.user({ role: 'student' }),
      p.user({ role: 'student' }),
      p.user({ role: 'instructor' }),
      p.user({ role: 'instructor' }),
      p.user({ role: 'admin' }),
    ]);
    course = await publishedCourseOverHttp(p.course.call, carol.token);
    // Reviews come from the course's learners (reviews.requireEnrolment).
    expect((await p.course.call('PUT', `/api/v1/courses/${course.id}/enrolment`, { token: alice.token })).status).toBe(201);
    const reviewed = await p.course.call('POST', `/api/v1/courses/${course.id}/reviews`, { token: alice.token, body: { rating: 4, title: 'Solid course' } });
    expect(reviewed.status, reviewed.text).toBe(201);
    review = reviewed.body;
  });
  afterAll(async () => {
    await tuned?.close();
    await p?.close();
  });

  const authDoc = () => p.auth.app.swagger() as unknown as Doc;
  const courseDoc = () => p.course.app.swagger() as unknown as Doc;
  const sidOf = async (user: PlatformUser) => {
    const { rows } = await p.auth.database.db.query<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at LIMIT 1', [user.id]);
    return rows[0]!.id;
  };

  describe('API1:2023 Broken Object Level Authorization', () => {
    it("API1: a student cannot edit or delete another student's review (403), which stays as it was", async () => {
      const edit = await p.course.call('PATCH', `/api/v1/reviews/${review.id}`, { token: bob.token, body: { rating: 1, title: 'Hijacked' } });
      expect(edit.status).toBe(403);
      expect(edit.body.code).toBe('not_review_author');
      const del = await p.course.call('DELETE', `/api/v1/reviews/${review.id}`, { token: bob.token });
      expect(del.status).toBe(403);
      const after = await p.course.call('GET', `/api/v1/reviews/${review.id}`);
      expect(after.status).toBe(200);
      expect(after.body).toMatchObject({ rating: review.rating, title: review.title, authorId: alice.id });
    });

    it("API1: an instructor cannot edit or delete another instructor's course (403), nor see their draft (404)", async () => {
      const edit = await p.course.call('PATCH', `/api/v1/courses/${course.id}`, { token: dave.token, body: { title: 'Taken over' } });
      expect(edit.status).toBe(403);
      expect(edit.body.code).toBe('not_course_owner');
      expect((await p.course.call('DELETE', `/api/v1/courses/${course.id}`, { token: dave.token })).status).toBe(403);
      const answer = await p.course.call('PUT', `/api/v1/reviews/${review.id}/response`, { token: dave.token, body: { body: 'Not my course' } });
      expect(answer.status).toBe(403);
      const after = await p.course.call('GET', `/api/v1/courses/${course.id}`);
      expect(after.body).toMatchObject({ title: course.title, instructorId: carol.id, status: 'published' });
      const draft = await p.course.call('POST', '/api/v1/courses', { token: carol.token, body: newCourseInput() });
      expect((await p.course.call('GET', `/api/v1/courses/${draft.body.id}`, { token: dave.token })).status).toBe(404);
    });

    it("API1: a user sees only their own sessions and cannot end another user's session (404)", async () => {
      const bobSid = await sidOf(bob);
      const mine = await p.auth.call('GET', '/api/v1/auth/sessions', { token: alice.token });
      expect(mine.status).toBe(200);
      const ids = (mine.body.items as { id: string }[]).map((s) => s.id);
      expect(ids).toContain(await sidOf(alice));
      expect(ids).not.toContain(bobSid);
      const end = await p.auth.call('DELETE', `/api/v1/auth/sessions/${bobSid}`, { token: alice.token });
      expect(end.status).toBe(404);
      // Bob's session lives on.
      expect((await p.auth.call('GET', '/api/v1/users/me', { token: bob.token })).status).toBe(200);
    });
  });

  describe('API2:2023 Broken Authentication', () => {
    it('API2: every protected operation of both services answers 401 without a token, with a garbage token and with an expired one', async () => {
      const someone = await p.user({ role: 'student' });
      const v = { id: review.id };
      // A section with a preview lesson of the course, for the curriculum routes.
      const section = await p.course.call('POST', `/api/v1/courses/${course.id}/sections`, { token: carol.token, body: { title: 'API2' } });
      const lesson = await p.course.call('POST', `/api/v1/sections/${section.body.id}/lessons`, { token: carol.token, body: { title: 'API2', kind: 'video', durationSeconds: 1, preview: true } });
      expect([section.status, lesson.status]).toEqual([201, 201]);
      const sv = { id: section.body.id as string };
      const lv = { id: lesson.body.id as string };
      // A request that passes the schema for each operation that names bearerAuth, so only the token decides.
      // `anonymous`: the status of an optional-token route called without one (default 200, the public view).
      const samples: Record<string, { service: 'auth' | 'course'; body?: unknown; query?: string; values?: Record<string, string>; anonymous?: number }> = {
        // The token is optional because a refresh token in the body may prove the session instead; this body has none.
        'POST /api/v1/auth/logout': { service: 'auth', body: {}, anonymous: 401 },
        'POST /api/v1/auth/password/change': { service: 'auth', body: { currentPassword: 'whatever-123', newPassword: 'another passphrase 9' } },
        'GET /api/v1/auth/sessions': { service: 'auth' },
        'DELETE /api/v1/auth/sessions/{id}': { service: 'auth', values: { id: await sidOf(someone) } },
        'GET /api/v1/users/me': { service: 'auth' },
        'PATCH /api/v1/users/me': { service: 'auth', body: { displayName: 'Renamed' } },
        'POST /api/v1/auth/reauthenticate': { service: 'auth', body: { password: 'whatever-123' } },
        'GET /api/v1/users/me/mfa': { service: 'auth' },
        'POST /api/v1/users/me/mfa/totp': { service: 'auth' },
        'POST /api/v1/users/me/mfa/totp/{id}/activate': { service: 'auth', body: { code: '123456' }, values: { id: randomUUID() } },
        'DELETE /api/v1/users/me/mfa/totp/{id}': { service: 'auth', values: { id: randomUUID() } },
        'POST /api/v1/users/me/mfa/recovery-codes': { service: 'auth' },
        'GET /api/v1/users/me/identities': { service: 'auth' },
        'POST /api/v1/users/me/identities': { service: 'auth', body: { provider: 'dev', redirectTo: 'http://localhost:3000/settings' } },
        'DELETE /api/v1/users/me/identities/{id}': { service: 'auth', values: { id: randomUUID() } },
        'GET /api/v1/admin/users': { service: 'auth' },
        'PATCH /api/v1/admin/users/{id}': { service: 'auth', body: { role: 'admin' }, values: { id: someone.id } },
        'DELETE /api/v1/admin/users/{id}/sessions': { service: 'auth', values: { id: someone.id } },
        'POST /api/v1/notifications': { service: 'auth', body: { userId: someone.id, template: 'review_created', data: {}, idempotencyKey: `api2-${randomUUID()}` } },
        'GET /api/v1/admin/notifications': { service: 'auth' },
        'POST /api/v1/admin/notifications/{id}/retry': { service: 'auth' },
        'GET /api/v1/internal/revocations': { service: 'auth' },
        'POST /api/v1/courses': { service: 'course', body: newCourseInput() },
        'GET /api/v1/courses/{id}': { service: 'course', values: { id: course.id } },
        'PATCH /api/v1/courses/{id}': { service: 'course', body: { title: 'Renamed' }, values: { id: course.id } },
        'DELETE /api/v1/courses/{id}': { service: 'course', values: { id: course.id } },
        'GET /api/v1/courses/{id}/reviews': { service: 'course', values: { id: course.id } },
        'GET /api/v1/instructor/courses': { service: 'course' },
        'POST /api/v1/courses/{id}/reviews': { service: 'course', body: { rating: 5 }, values: { id: course.id } },
        'GET /api/v1/reviews': { service: 'course', query: `authorId=${alice.id}` },
        'GET /api/v1/reviews/{id}': { service: 'course', values: v },
        'PATCH /api/v1/reviews/{id}': { service: 'course', body: { rating: 1 }, values: v },
        'DELETE /api/v1/reviews/{id}': { service: 'course', values: v },
        'PUT /api/v1/reviews/{id}/response': { service: 'course', body: { body: 'Thanks' }, values: v },
        'DELETE /api/v1/reviews/{id}/response': { service: 'course', values: v },
        // E-mail change and security activity (issue 18).
        'POST /api/v1/users/me/email': { service: 'auth', body: { newEmail: 'api2-new@example.com' } },
        'GET /api/v1/users/me/security-events': { service: 'auth' },
        'GET /api/v1/admin/security-events': { service: 'auth' },
        'GET /api/v1/courses/{id}/curriculum': { service: 'course', values: { id: course.id } },
        'POST /api/v1/courses/{id}/announcements': { service: 'course', body: { subject: 'News', body: 'Text' }, values: { id: course.id } },
        'GET /api/v1/courses/{id}/announcements': { service: 'course', values: { id: course.id } },
        'PUT /api/v1/courses/{id}/curriculum/order': { service: 'course', body: { sections: [] }, values: { id: course.id } },
        'POST /api/v1/courses/{id}/sections': { service: 'course', body: { title: 'Section' }, values: { id: course.id } },
        'PATCH /api/v1/sections/{id}': { service: 'course', body: { title: 'Renamed' }, values: sv },
        'DELETE /api/v1/sections/{id}': { service: 'course', values: sv },
        'POST /api/v1/sections/{id}/lessons': { service: 'course', body: { title: 'Lesson', kind: 'quiz', durationSeconds: 1 }, values: sv },
        'GET /api/v1/lessons/{id}': { service: 'course', values: lv },
        'PATCH /api/v1/lessons/{id}': { service: 'course', body: { title: 'Renamed' }, values: lv },
        'DELETE /api/v1/lessons/{id}': { service: 'course', values: lv },
        'PUT /api/v1/courses/{id}/enrolment': { service: 'course', values: { id: course.id } },
        'DELETE /api/v1/courses/{id}/enrolment': { service: 'course', values: { id: course.id } },
        'GET /api/v1/enrolments': { service: 'course' },
        'GET /api/v1/courses/{id}/enrolments': { service: 'course', values: { id: course.id } },
        'PUT /api/v1/lessons/{id}/completion': { service: 'course', values: { id: course.id } },
        'DELETE /api/v1/lessons/{id}/completion': { service: 'course', values: { id: course.id } },
        'GET /api/v1/courses/{id}/progress': { service: 'course', values: { id: course.id } },
        'GET /api/v1/instructor/courses/{id}/stats': { service: 'course', values: { id: course.id } },
        'POST /api/v1/users/me/deletion': { service: 'auth', body: {} },
        'GET /api/v1/users/me/export': { service: 'auth' },
        'POST /internal/v1/account-events': { service: 'course', body: { eventId: randomUUID(), type: 'account_deleted', userId: someone.id, eraseReviews: true } },
        'GET /internal/v1/user-export': { service: 'course', query: `userId=${someone.id}` },
      };
      const secured = new Map<string, 'required' | 'optional'>();
      for (const doc of [authDoc(), courseDoc()]) {
        for (const [key, op] of operations(doc)) {
          if (!op.security.some((s) => 'bearerAuth' in s)) continue;
          secured.set(key, op.security.some((s) => Object.keys(s).length === 0) ? 'optional' : 'required');
        }
      }
      expect(Object.keys(samples).sort()).toEqual([...secured.keys()].sort());

      const expired = await new SignJWT({ role: 'admin', name: 'Old', emailVerified: true, sid: await sidOf(admin) })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: p.auth.keys.active.kid })
        .setSubject(admin.id)
        .setIssuer(p.auth.config.jwt.issuer)
        .setAudience(p.auth.config.jwt.audience)
        .setIssuedAt(now() - 3600)
        .setExpirationTime(now() - 60)
        .setJti(newId())
        .sign(p.auth.keys.active.privateKey);
      const garbage = `${randomBytes(20).toString('base64url')}.${randomBytes(40).toString('base64url')}.${randomBytes(64).toString('base64url')}`;

      for (const [key, sample] of Object.entries(samples)) {
        const [method, template] = key.split(' ') as [string, string];
        const url = `${fill(template, sample.values ?? {})}${sample.query ? `?${sample.query}` : ''}`;
        const target = sample.service === 'auth' ? p.auth : p.course;
        for (const [label, token] of [['garbage', garbage], ['expired', expired], ['none', undefined]] as const) {
          if (label === 'none' && secured.get(key) === 'optional') continue;
          const res = await target.call(method, url, { ...(token ? { token } : {}), ...(sample.body !== undefined ? { body: sample.body } : {}) });
          expect(res.status, `${label} token: ${key}`).toBe(401);
          expect(String(res.headers['www-authenticate']), key).toMatch(/^Bearer/);
        }
        // An optional-token route with no token answers as to anyone (the public view).
        if (secured.get(key) === 'optional') {
          const anonymous = await target.call(method, url, sample.body !== undefined ? { body: sample.body } : {});
          expect(anonymous.status, `anonymous ${key}`).toBe(sample.anonymous ?? 200);
        }
      }
      // The destructive samples did nothing.
      expect((await p.course.call('GET', `/api/v1/reviews/${review.id}`)).body.rating).toBe(review.rating);
      expect((await p.course.call('GET', `/api/v1/courses/${course.id}`)).body.title).toBe(course.title);
      expect((await p.course.call('GET', `/api/v1/lessons/${lv.id}`)).body.title).toBe('API2');
      const { rows } = await p.auth.database.db.query<{ role: string }>('SELECT role FROM users WHERE id = $1', [someone.id]);
      expect(rows[0]!.role).toBe('student');
    });
  });

  describe('API3:2023 Broken Object Property Level Authorization', () => {
    it('API3: mass assignment (role, emailVerified, instructorId, rating, authorId, ...) is 400 validation_failed and changes nothing', async () => {
      const attempts: { target: 'auth' | 'course'; method: string; url: string; token?: string; body: Record<string, unknown>; field: string }[] = [
        { target: 'auth', method: 'POST', url: '/api/v1/auth/register', body: { email: `ma-${randomUUID()}@example.com`, password: 'a fine passphrase', displayName: 'M', role: 'admin' }, field: 'role' },
        { target: 'auth', method: 'PATCH', url: '/api/v1/users/me', token: bob.token, body: { role: 'admin' }, field: 'role' },
        { target: 'auth', method: 'PATCH', url: '/api/v1/users/me', token: bob.token, body: { displayName: 'Bob', emailVerified: true }, field: 'emailVerified' },
        { target: 'auth', method: 'PATCH', url: '/api/v1/users/me', token: bob.token, body: { email: 'someone-else@example.com' }, field: 'email' },
        { target: 'course', method: 'POST', url: '/api/v1/courses', token: dave.token, body: { ...newCourseInput(), instructorId: carol.id }, field: 'instructorId' },
        { target: 'course', method: 'PATCH', url: `/api/v1/courses/${course.id}`, token: carol.token, body: { rating: { average: 5, count: 1000 } }, field: 'rating' },
        { target: 'course', method: 'PATCH', url: `/api/v1/courses/${course.id}`, token: carol.token, body: { instructorName: 'Someone Famous' }, field: 'instructorName' },
        { target: 'course', method: 'POST', url: `/api/v1/courses/${course.id}/reviews`, token: bob.token, body: { rating: 5, authorId: alice.id }, field: 'authorId' },
        { target: 'course', method: 'PATCH', url: `/api/v1/reviews/${review.id}`, token: alice.token, body: { authorName: 'Admin' }, field: 'authorName' },
      ];
      const before = {
        users: (await p.auth.database.db.query('SELECT id, email, role, email_verified_at FROM users ORDER BY id')).rows,
        courses: (await p.course.database.db.query('SELECT * FROM courses ORDER BY id')).rows,
        reviews: (await p.course.database.db.query('SELECT * FROM reviews ORDER BY id')).rows,
      };
      for (const a of attempts) {
        const res = await (a.target === 'auth' ? p.auth : p.course).call(a.method, a.url, { body: a.body, ...(a.token ? { token: a.token } : {}) });
        expect(res.status, `${a.method} ${a.url} ${a.field}`).toBe(400);
        expect(res.body.code).toBe('validation_failed');
        expect(res.body.errors, a.field).toContainEqual({ path: `body.${a.field}`, message: 'is not an allowed field' });
      }
      expect({
        users: (await p.auth.database.db.query('SELECT id, email, role, email_verified_at FROM users ORDER BY id')).rows,
        courses: (await p.course.database.db.query('SELECT * FROM courses ORDER BY id')).rows,
        reviews: (await p.course.database.db.query('SELECT * FROM reviews ORDER BY id')).rows,
      }).toEqual(before);
    });

    it("API3: a documented property only an admin may set (a review's status) is 403 for its author, and unchanged", async () => {
      const res = await p.course.call('PATCH', `/api/v1/reviews/${review.id}`, { token: alice.token, body: { status: 'hidden' } });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
      const { rows } = await p.course.database.db.query<{ status: string }>('SELECT status FROM reviews WHERE id = $1', [review.id]);
      expect(rows[0]!.status).toBe('visible');
    });

    it('API3: answers never carry password hashes, session secrets, one-time tokens or private key parts', async () => {
      // A queued reset mail whose link holds a one-time token, so that the admin's mail list has one to leak.
      expect((await p.auth.call('POST', '/api/v1/auth/password/forgot', { body: { email: bob.email } })).status).toBe(202);
      const u = await p.auth.newUser({ role: 'student' });
      const answers: CallResult[] = [
        await p.auth.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } }),
        await p.auth.call('GET', '/api/v1/users/me', { token: alice.token }),
        await p.auth.call('GET', '/api/v1/auth/sessions', { token: alice.token }),
        await p.auth.call('GET', '/api/v1/admin/users?limit=100', { token: admin.token }),
        await p.auth.call('GET', '/api/v1/admin/notifications?limit=100', { token: admin.token }),
        await p.auth.call('GET', '/api/v1/admin/notifications?status=queued&limit=100', { token: admin.token }),
        await p.auth.call('PATCH', `/api/v1/admin/users/${u.id}`, { token: admin.token, body: { role: 'student' } }),
        await p.auth.call('GET', '/.well-known/jwks.json'),
        await p.course.call('GET', `/api/v1/courses/${course.id}`),
        await p.course.call('GET', `/api/v1/courses/${course.id}/reviews`),
        await p.course.call('GET', `/api/v1/reviews?authorId=${alice.id}`, { token: alice.token }),
      ];
      const secrets = (await p.auth.database.db.query<{ secret: Buffer }>('SELECT secret FROM sessions')).rows.flatMap((r) => [
        Buffer.from(r.secret).toString('hex'),
        Buffer.from(r.secret).toString('base64'),
        Buffer.from(r.secret).toString('base64url'),
      ]);
      const hashes = (await p.auth.database.db.query<{ password_hash: string }>('SELECT password_hash FROM users')).rows.map((r) => r.password_hash);
      for (const res of answers) {
        expect(res.status, res.text.slice(0, 200)).toBeLessThan(300);
        const { keys, strings } = walk(res.body);
        const bad = keys.filter((k) => /password|hash|secret|^(d|p|q|dp|dq|qi)$/i.test(k) || /^(data|token)$/.test(k));
        expect(bad, res.text.slice(0, 300)).toEqual([]);
        for (const s of strings) {
          expect(s).not.toMatch(/^\$argon2/);
          expect(s).not.toMatch(/[?&]token=/);
          expect(hashes).not.toContain(s);
          for (const secret of secrets) expect(s.includes(secret), 'a session secret in an answer').toBe(false);
        }
      }
      // The scan saw the things it looks for: users, sessions, and a mail with a token link in the outbox.
      expect(answers[3]!.body.items.length).toBeGreaterThan(3);
      const { rows } = await p.auth.database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE data::text LIKE '%token=%'`);
      expect(rows[0]!.n + p.auth.smtp.to(bob.email).length).toBeGreaterThan(0);
    });
  });

  describe('API4:2023 Unrestricted Resource Consumption', () => {
    it('API4: every list of both services caps the page: limit 101 is 400, limit 100 works', async () => {
      const lists: string[] = [];
      for (const [service, doc] of [['auth', authDoc()], ['course', courseDoc()]] as const) {
        for (const [key, op] of operations(doc)) {
          if (!key.startsWith('GET ') || !op.parameters.some((x) => x.name === 'limit' && x.in === 'query')) continue;
          const path = fill(key.slice(4), { id: course.id });
          const required = op.parameters.filter((x) => x.in === 'query' && x.required && x.name !== 'limit').map((x) => `${x.name}=${x.name === 'authorId' ? alice.id : 'x'}`);
          const target = service === 'auth' ? p.auth : p.course;
          for (const limit of ['101', '1000000']) {
            const res = await target.call('GET', `${path}?${[...required, `limit=${limit}`].join('&')}`, { token: admin.token });
            expect(res.status, `${key} limit=${limit}`).toBe(400);
            expect(res.body.code).toBe('validation_failed');
          }
          const ok = await target.call('GET', `${path}?${[...required, 'limit=100'].join('&')}`, { token: admin.token });
          expect(ok.status, `${key} limit=100`).toBe(200);
          expect(ok.body.items.length).toBeLessThanOrEqual(100);
          lists.push(key);
        }
      }
      expect(lists.sort()).toEqual([
        'GET /api/v1/admin/notifications',
        'GET /api/v1/admin/security-events',
        'GET /api/v1/admin/users',
        'GET /api/v1/courses',
        'GET /api/v1/courses/{id}/enrolments',
        'GET /api/v1/courses/{id}/reviews',
        'GET /api/v1/enrolments',
        'GET /api/v1/instructor/courses',
        'GET /api/v1/reviews',
        'GET /api/v1/users/me/security-events',
      ]);
    });

    it('API4: a body over http.bodyLimit is 413 payload_too_large on both services', async () => {
      for (const [target, limit, url, token] of [
        [p.auth, p.auth.config.http.bodyLimit, '/api/v1/auth/login', undefined],
        [p.course, p.course.config.http.bodyLimit, '/api/v1/courses', carol.token],
      ] as const) {
        const body = { ...newCourseInput(), description: 'x'.repeat(limit) };
        const res = await target.call('POST', url, { body, ...(token ? { token } : {}) });
        expect(res.status, url).toBe(413);
        expect(res.body.code).toBe('payload_too_large');
      }
    });

    it('API4: failed logins from one address across many accounts are throttled: 429 with Retry-After', async () => {
      const address = ip();
      const login = (email: string) => tuned.call('POST', '/api/v1/auth/login', { body: { email, password: 'wrong password!' }, headers: { 'x-forwarded-for': address } });
      for (let i = 0; i < 4; i++) expect((await login(`nobody-${i}-${randomUUID()}@example.com`)).status).toBe(401);
      const limited = await login(`nobody-x-${randomUUID()}@example.com`);
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    });
  });

  describe('API5:2023 Broken Function Level Authorization', () => {
    it('API5: students and instructors get 403 on every /api/v1/admin/* operation, and nothing changes', async () => {
      const victim = await p.user({ role: 'student' });
      const { rows: mails } = await p.auth.database.db.query<{ id: string }>('SELECT id FROM notifications LIMIT 1');
      const samples: Record<string, { body?: unknown; values?: Record<string, string> }> = {
        'GET /api/v1/admin/users': {},
        'PATCH /api/v1/admin/users/{id}': { body: { role: 'admin' } },
        'DELETE /api/v1/admin/users/{id}/sessions': { values: { id: victim.id } },
        'GET /api/v1/admin/notifications': {},
        'POST /api/v1/admin/notifications/{id}/retry': { values: { id: mails[0]?.id ?? randomUUID() } },
        'GET /api/v1/admin/security-events': {},
      };
      const adminOps = [...operations(authDoc()).keys(), ...operations(courseDoc()).keys()].filter((k) => k.split(' ')[1]!.startsWith('/api/v1/admin'));
      expect(Object.keys(samples).sort()).toEqual(adminOps.sort());
      for (const who of [alice, dave]) {
        for (const [key, sample] of Object.entries(samples)) {
          const [method, template] = key.split(' ') as [string, string];
          // The PATCH tries to make the caller an admin.
          const url = fill(template, { id: who.id, ...sample.values });
          const res = await p.auth.call(method, url, { token: who.token, ...(sample.body ? { body: sample.body } : {}) });
          expect(res.status, `${who.id} ${key}`).toBe(403);
          expect(res.body.code).toBe('forbidden');
        }
      }
      const { rows } = await p.auth.database.db.query<{ id: string; role: string }>('SELECT id, role FROM users WHERE id = ANY($1) ORDER BY id', [[alice.id, dave.id]]);
      expect(rows.map((r) => r.role).sort()).toEqual(['instructor', 'student']);
      expect((await p.auth.call('GET', '/api/v1/users/me', { token: victim.token })).status).toBe(200);
    });

    it('API5: a student cannot queue mail through POST /api/v1/notifications (service or admin only): 403', async () => {
      const res = await p.auth.call('POST', '/api/v1/notifications', {
        token: alice.token,
        body: { userId: bob.id, template: 'review_hidden', data: { courseTitle: 'Phish' }, idempotencyKey: `api5-${randomUUID()}` },
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
      const { rows } = await p.auth.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND template = 'review_hidden'", [bob.id]);
      expect(rows[0]!.n).toBe(0);
    });

    it('API5: a student cannot create a course (instructors and admins only): 403, nothing stored', async () => {
      const input = newCourseInput();
      const res = await p.course.call('POST', '/api/v1/courses', { token: alice.token, body: input });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
      const { rows } = await p.course.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM courses WHERE title = $1', [input.title]);
      expect(rows[0]!.n).toBe(0);
    });
  });

  describe('API6:2023 Unrestricted Access to Sensitive Business Flows', () => {
    it('API6: registrations are throttled per client address (429 with Retry-After); another address still registers', async () => {
      const address = ip();
      const register = (from: string) =>
        tuned.call('POST', '/api/v1/auth/register', {
          body: { email: `api6-${randomUUID()}@example.com`, password: 'a fine passphrase', displayName: 'Bot' },
          headers: { 'x-forwarded-for': from },
        });
      for (let i = 0; i < 2; i++) expect((await register(address)).status).toBe(202);
      const limited = await register(address);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await register(ip())).status).toBe(202);
    });

    it('API6: password-reset mails are throttled per client address, whatever addresses are asked for', async () => {
      const address = ip();
      const forgot = (email: string) => tuned.call('POST', '/api/v1/auth/password/forgot', { body: { email }, headers: { 'x-forwarded-for': address } });
      for (let i = 0; i < 3; i++) expect((await forgot(`api6-${i}-${randomUUID()}@example.com`)).status).toBe(202);
      const limited = await forgot(alice.email);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // The refused request queued no mail for the real account.
      const { rows } = await p.auth.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND template = 'password_reset'", [alice.id]);
      expect(rows[0]!.n).toBe(0);
    });
  });

  describe('API7:2023 Server Side Request Forgery', () => {
    it('API7: no request field of either document takes a URL (format uri/url, or a url/link/callback-like name)', () => {
      const found: string[] = [];
      let doc: Doc & { components?: { schemas?: Record<string, unknown> } } = authDoc();
      const resolving = new Set<string>();
      const visit = (schema: unknown, where: string): void => {
        if (!schema || typeof schema !== 'object') return;
        const s = schema as Record<string, unknown>;
        if (typeof s.$ref === 'string') {
          const name = s.$ref.replace(/^#\/components\/schemas\//, '');
          if (resolving.has(name)) return;
          resolving.add(name);
          visit(doc.components?.schemas?.[name], `${where}->${name}`);
          resolving.delete(name);
          return;
        }
        if (typeof s.format === 'string' && /^(uri|url|iri|uri-reference|iri-reference|uri-template)$/.test(s.format)) found.push(`${where} (format ${s.format})`);
        for (const [name, sub] of Object.entries((s.properties as Record<string, unknown>) ?? {})) {
          if (/url|uri|href|link|callback|webhook|redirect|avatar|image|jku|x5u/i.test(name)) found.push(`${where}.${name}`);
          visit(sub, `${where}.${name}`);
        }
        for (const k of ['items', 'additionalProperties', 'not']) visit(s[k], `${where}[${k}]`);
        for (const k of ['anyOf', 'oneOf', 'allOf']) for (const sub of (s[k] as unknown[]) ?? []) visit(sub, `${where}|${k}`);
      };
      let seen = 0;
      for (const served of [authDoc(), courseDoc()]) {
        doc = served;
        for (const [path, item] of Object.entries(doc.paths)) {
          for (const [method, op] of Object.entries(item)) {
            if (!METHODS.includes(method)) continue;
            for (const param of op.parameters ?? []) {
              seen++;
              if (/url|uri|href|link|callback|webhook|redirect/i.test(param.name)) found.push(`${method} ${path} ${param.in} ${param.name}`);
              visit(param.schema, `${method} ${path} ${param.in} ${param.name}`);
            }
            for (const [type, content] of Object.entries(op.requestBody?.content ?? {})) {
              seen++;
              visit(content.schema, `${method} ${path} body(${type})`);
            }
          }
        }
      }
      expect(seen).toBeGreaterThan(30);
      // Where the browser is sent back after a provider sign-in (issue 19): the server never fetches it,
      // and only exact origins of oidc.redirectOrigins pass (test/auth-service/oidc.test.ts).
      const browserRedirects = ['get /api/v1/auth/oidc/{provider}/start query redirectTo', 'post /api/v1/users/me/identities body(application/json).redirectTo'];
      expect(found.filter((f) => !browserRedirects.includes(f))).toEqual([]);
    });

    it('API7: URLs placed where free text is allowed (mail data, course and review text, names) are never fetched', async () => {
      const trap = await canary();
      try {
        const link = `${trap.url}/ssrf`;
        const mail = await p.auth.call('POST', '/api/v1/notifications', {
          token: admin.token,
          body: { userId: carol.id, template: 'review_created', data: { courseTitle: `See ${link}`, rating: 5, authorName: link, courseLink: link }, idempotencyKey: `api7-${randomUUID()}` },
        });
        expect(mail.status).toBe(202);
        expect((await p.auth.call('PATCH', '/api/v1/users/me', { token: bob.token, body: { displayName: link } })).status).toBe(200);
        const c = await publishedCourseOverHttp(p.course.call, dave.token, { description: `Images: ${link}/a.png <img src="${link}/b.png">`, summary: link });
        expect((await p.course.call('PUT', `/api/v1/courses/${c.id}/enrolment`, { token: bob.token })).status).toBe(201);
        expect((await p.course.call('POST', `/api/v1/courses/${c.id}/reviews`, { token: bob.token, body: { rating: 5, body: `![x](${link}/c.png) ${link}` } })).status).toBe(201);
        // The mail went out (rendered with the link as text or an http link), and still nobody fetched it.
        const sent = await p.auth.smtp.waitFor((m) => m.to.includes(carol.email) && m.html.includes(`${trap.url}/ssrf`));
        expect(sent.subject.length).toBeGreaterThan(0);
        await new Promise((r) => setTimeout(r, 200));
        expect(trap.hits).toEqual([]);
      } finally {
        await trap.close();
      }
    });
  });

  describe('API8:2023 Security Misconfiguration', () => {
    it('API8: CORS is closed by default (no Access-Control-Allow-Origin for an unknown origin, preflight or not); only a configured origin is allowed', async () => {
      const evil = 'https://evil.example';
      for (const [app, url] of [[p.auth.app, '/api/v1/auth/login'], [p.course.app, '/api/v1/courses'], [tuned.app, '/api/v1/auth/login']] as const) {
        const preflight = await app.inject({ method: 'OPTIONS', url, headers: { origin: evil, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
        expect(preflight.headers['access-control-allow-origin'], url).toBeUndefined();
        expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
        const simple = await app.inject({ method: 'GET', url: '/healthz', headers: { origin: evil } });
        expect(simple.statusCode).toBe(200);
        expect(simple.headers['access-control-allow-origin']).toBeUndefined();
      }
      // The control: the one configured origin is allowed, without credentials.
      const allowed = await tuned.app.inject({ method: 'OPTIONS', url: '/api/v1/auth/login', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' } });
      expect(allowed.statusCode).toBe(204);
      expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example');
      expect(allowed.headers['access-control-allow-credentials']).toBeUndefined();
    });

    it('API8: answers carry nosniff and no-store, name no server stack (no X-Powered-By / Server), and errors carry no stack trace', async () => {
      const answers = [
        await p.auth.app.inject({ method: 'GET', url: '/api/v1/users/me', headers: { authorization: `Bearer ${alice.token}` } }),
        await p.auth.app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, payload: '{"email": "a@b.c", "password": ' }),
        await p.auth.app.inject({ method: 'GET', url: '/api/v1/nope' }),
        await p.course.app.inject({ method: 'POST', url: '/api/v1/courses', headers: { 'content-type': 'application/json', authorization: `Bearer ${carol.token}` }, payload: '{"title": [' }),
        await p.course.app.inject({ method: 'GET', url: `/api/v1/courses/${'%ZZ'}` }),
        await p.course.app.inject({ method: 'TRACE', url: '/api/v1/courses' }),
        await p.course.app.inject({ method: 'GET', url: `/api/v1/reviews/${randomUUID()}` }),
      ];
      for (const res of answers) {
        const what = `${res.statusCode} ${res.body.slice(0, 120)}`;
        expect(res.headers['x-content-type-options'], what).toBe('nosniff');
        expect(res.headers['x-powered-by'], what).toBeUndefined();
        expect(res.headers.server, what).toBeUndefined();
        expect(String(res.headers['cache-control']), what).toMatch(/no-store|private|max-age/);
        if (res.statusCode >= 400) {
          expect(String(res.headers['content-type']), what).toContain('application/problem+json');
          const problem = JSON.parse(res.body) as Record<string, unknown>;
          expect(problem).not.toHaveProperty('stack');
          expect(res.body, what).not.toMatch(/\bat \S+ \(|node_modules|\/work\/|\.ts:\d+|SyntaxError|FST_ERR/);
        }
      }
      expect(answers.filter((r) => r.statusCode >= 400).length).toBe(answers.length - 1);
      expect(answers[5]!.statusCode).toBe(404);
    });
  });

  describe('API9:2023 Improper Inventory Management', () => {
    /** `METHOD /path` of every route the app has, from Fastify's route tree. */
    function routesOf(app: AuthHarness['app']): string[] {
      const out: string[] = [];
      const stack: string[] = [];
      for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
        const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
        if (!m) continue;
        const depth = m[1]!.length / 4;
        stack.length = depth;
        const path = (stack[depth - 1] ?? '') + m[2]!;
        stack[depth] = path;
        for (const method of (m[3] ?? '').split(', ').filter(Boolean)) out.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
      }
      return out;
    }

    it('API9: every route of both apps is in its OpenAPI document and every documented operation exists; unknown paths and versions are 404', async () => {
      for (const [app, doc] of [[p.auth.app, authDoc()], [p.course.app, courseDoc()]] as const) {
        const routes = routesOf(app);
        expect(routes.length).toBeGreaterThan(15);
        // Not API operations: HEAD (Fastify adds it to each GET), the CORS preflight catch-all, and Swagger UI itself.
        const isApi = (r: string) => !r.startsWith('HEAD ') && r !== 'OPTIONS *' && !/^GET \/docs(\/|$)/.test(r);
        const undocumented = routes.filter(isApi).filter((r) => !operations(doc).has(r));
        expect(undocumented).toEqual([]);
        expect([...operations(doc).keys()].filter((op) => !routes.includes(op))).toEqual([]);
      }
      for (const [target, url] of [
        [p.course, '/api/v2/courses'],
        [p.course, '/api/v0/courses'],
        [p.course, '/api/courses'],
        [p.course, '/api/v1/internal/courses'],
        [p.auth, '/api/v2/users/me'],
        [p.auth, '/api/v1/admin'],
        [p.auth, '/api/v1/debug'],
        [p.auth, '/.env'],
      ] as const) {
        const res = await target.call('GET', url, { token: admin.token });
        expect(res.status, url).toBe(404);
        expect(res.body.code).toBe('not_found');
      }
    });
  });

  describe('API10:2023 Unsafe Consumption of APIs', () => {
    it('API10: course-service follows no redirect from auth-service, so neither its client secret nor its service token is sent elsewhere', async () => {
      const trap = await canary();
      const bodies: string[] = [];
      const secret = `secret-${randomUUID()}`;
      let tokenAnswer: 'redirect' | 'ok' = 'redirect';
      // Stands in for a compromised or misconfigured auth-service (or a proxy in front of it).
      const fake = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          bodies.push(`${req.method} ${req.url}`);
          if (req.url === '/api/v1/auth/token' && tokenAnswer === 'ok') {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'service-token-abc', token_type: 'Bearer', expires_in: 900 }));
            return;
          }
          res.writeHead(307, { location: `${trap.url}/steal${req.url}` }).end();
        });
      });
      await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
      try {
        const client = new AuthClient({ baseUrl: `http://127.0.0.1:${(fake.address() as AddressInfo).port}`, clientId: 'course-service', clientSecret: secret, timeoutMs: 2000 });
        const request = { userId: randomUUID(), template: 'review_created' as const, data: { courseTitle: 'C' }, idempotencyKey: `api10-${randomUUID()}` };
        // The token endpoint redirects: the secret must not be re-posted to the target.
        expect((await client.notify(request)).kind).toBe('retry');
        // The token endpoint answers, the notification endpoint redirects: the bearer token must not follow.
        tokenAnswer = 'ok';
        expect((await client.notify(request)).kind).toBe('retry');
        expect(bodies).toContain('POST /api/v1/notifications');
        expect(trap.hits).toEqual([]);
      } finally {
        await new Promise<void>((resolve) => fake.close(() => resolve()));
        await trap.close();
      }
    });

    it("API10: course-service treats auth-service's JWKS as untrusted input: a broken answer is 401 (not 500), and an `oct` key in it does not enable HS256", async () => {
      const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
      const good = { ...(await exportJWK(publicKey)), kid: 'k-good', alg: 'EdDSA', use: 'sig' };
      const hmacKey = randomBytes(32);
      let answer: { status: number; body: string } = { status: 200, body: JSON.stringify({ keys: [good] }) };
      let fetches = 0;
      const server = createServer((_req, res) => {
        fetches++;
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const c = await startCourse({
        jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
        database: p.course.database,
        overrides: { auth: { jwksCooldownMs: 0 } },
      });
      try {
        const claims = { role: 'instructor', name: 'Ivy', emailVerified: true };
        const token = (alg: string, kid: string, key: CryptoKey | Uint8Array) =>
          new SignJWT(claims)
            .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
            .setSubject(randomUUID())
            .setIssuer(c.config.auth.issuer)
            .setAudience(c.config.auth.audience)
            .setIssuedAt()
            .setExpirationTime('5m')
            .setJti(newId())
            .sign(key);
        const create = async (t: string) => (await c.call('POST', '/api/v1/courses', { token: t, body: newCourseInput() })).status;
        expect(await create(await token('EdDSA', 'k-good', privateKey))).toBe(201);

        answer = { status: 200, body: JSON.stringify({ keys: [good, { kty: 'oct', k: Buffer.from(hmacKey).toString('base64url'), kid: 'k-hmac', alg: 'HS256' }] }) };
        expect(await create(await token('HS256', 'k-hmac', hmacKey))).toBe(401);
        // Each case names a kid the cached set lacks, so course-service fetches the set again and meets the answer.
        const cases: ((kid: string) => { status: number; body: string })[] = [
          () => ({ status: 200, body: 'not json' }),
          () => ({ status: 200, body: '{"keys": "nope"}' }),
          () => ({ status: 500, body: '{}' }),
          () => ({ status: 302, body: '' }),
          (kid) => ({ status: 200, body: JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', kid, alg: 'EdDSA' }] }) }),
          (kid) => ({ status: 200, body: JSON.stringify({ keys: [{ ...good, kid, x: 'AAAA' }] }) }),
        ];
        for (const make of cases) {
          const kid = `k-${randomUUID()}`;
          answer = make(kid);
          const before = fetches;
          const status = await create(await token('EdDSA', kid, privateKey));
          expect(status, answer.body).toBe(401);
          expect(fetches, `${answer.status} ${answer.body} was not fetched`).toBe(before + 1);
        }
        // The control: a sound set with the new kid is picked up by the same running app.
        const kid = `k-${randomUUID()}`;
        answer = { status: 200, body: JSON.stringify({ keys: [good, { ...good, kid }] }) };
        expect(await create(await token('EdDSA', kid, privateKey))).toBe(201);
      } finally {
        await c.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });
});
