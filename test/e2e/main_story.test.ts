/**
 * The platform's main story, end to end through the typed clients (clients/index.ts: openapi-fetch
 * over the types generated from swagger/*.yml) against both services listening on real ports:
 * register, confirm the e-mail with the token from the real mail, log in, become an instructor (an
 * admin changes the role, a refresh gives a token that says so), publish a course, get it reviewed by
 * two other people, read the exact rating, and receive the review mails (course-service's outbox relay
 * -> auth-service's notification outbox -> SMTP).
 *
 * Every path, parameter and body below is checked by the compiler against the OpenAPI documents, and
 * every answer is checked at run time against the document the service serves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { SERVICE_CLIENT, startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { startCourse, type CourseHarness } from '../helpers/course_app.js';
import { tokenFrom } from '../helpers/smtp.js';
import { outboxesSettled } from '../helpers/outbox.js';
import type { ResponseChecker } from '../helpers/openapi.js';
import { authClient, bearer, courseClient, type AuthClient, type CourseClient } from '../../clients/index.js';
import type { Middleware } from 'openapi-fetch';

/** Checks each real HTTP answer against the served OpenAPI document, as the inject harness does. */
function conformsTo(checker: ResponseChecker): Middleware {
  return {
    async onResponse({ request, response }) {
      const body = await response.clone().text();
      const headers: Record<string, string> = {};
      response.headers.forEach((value, key) => (headers[key] = value));
      const url = new URL(request.url);
      checker.check(request.method, url.pathname + url.search, { statusCode: response.status, headers, body });
      return undefined;
    },
  };
}

function claims(accessToken: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}


/** The token pair of a login answer: these accounts have no two-factor sign-in, so never the MFA challenge. */
function pairOf<T extends object>(data: T | undefined): Exclude<T, { mfaRequired: true }> {
  if (!data || 'mfaRequired' in data) throw new Error(`expected a token pair, got ${JSON.stringify(data)}`);
  return data as Exclude<T, { mfaRequired: true }>;
}

describe.skipIf(!hasPostgres)('main story through the typed clients (both services listening)', () => {
  let auth: AuthHarness;
  let course: CourseHarness;
  let authApi: AuthClient;
  let courseApi: CourseClient;
  let courseUrl: string;

  beforeAll(async () => {
    // E-mail verification is required here (the platform default), unlike startPlatform().
    auth = await startAuth({ auth: { requireEmailVerification: true, verificationResendIntervalSec: 0 } });
    const authUrl = await auth.app.listen({ port: 0, host: '127.0.0.1' });
    course = await startCourse({
      jwksUrl: `${authUrl}/.well-known/jwks.json`,
      overrides: {
        auth: { url: authUrl, clientId: SERVICE_CLIENT.id, clientSecret: SERVICE_CLIENT.secret },
        relay: { enabled: true, pollIntervalMs: 30, backoffBaseMs: 20, backoffMaxMs: 200 },
      },
    });
    courseUrl = await course.app.listen({ port: 0, host: '127.0.0.1' });
    authApi = authClient({ baseUrl: authUrl });
    authApi.use(conformsTo(auth.checker));
    courseApi = courseClient({ baseUrl: courseUrl });
    courseApi.use(conformsTo(course.checker));
  });
  afterAll(async () => {
    await course?.close();
    await auth?.close();
  });

  /** Registers through the API and confirms with the token from the real verification mail. */
  async function registerAndConfirm(email: string, password: string, displayName: string) {
    const reg = await authApi.POST('/api/v1/auth/register', { body: { email, password, displayName } });
    expect(reg.response.status).toBe(202);
    const mail = await auth.smtp.waitFor((m) => m.to.includes(email) && /confirm/i.test(m.subject));
    const verified = await authApi.POST('/api/v1/auth/verify-email', { body: { token: tokenFrom(mail) } });
    expect(verified.response.ok, JSON.stringify(verified.error)).toBe(true);
  }

  async function login(email: string, password: string) {
    const res = await authApi.POST('/api/v1/auth/login', { body: { email, password } });
    expect(res.response.status, JSON.stringify(res.error)).toBe(200);
    return pairOf(res.data);
  }

  it('register -> confirm -> instructor -> publish -> reviews -> rating and mail', async () => {
    const suffix = Math.random().toString(36).slice(2, 8);
    const teacher = { email: `grace-${suffix}@example.com`, password: `Compilers-${suffix}!`, displayName: 'Grace Hopper' };

    // 1. Register; before the e-mail is confirmed the right password is not enough.
    const reg = await authApi.POST('/api/v1/auth/register', { body: { email: teacher.email, password: teacher.password, displayName: teacher.displayName, locale: 'en' } });
    expect(reg.response.status).toBe(202);
    expect(reg.data?.message).toBeTypeOf('string');
    const early = await authApi.POST('/api/v1/auth/login', { body: { email: teacher.email, password: teacher.password } });
    expect(early.response.status).toBe(403);
    expect(early.error?.code).toBe('email_not_verified');

    // 2. Confirm with the token from the mail that really went out over SMTP.
    const mail = await auth.smtp.waitFor((m) => m.to.includes(teacher.email) && /confirm/i.test(m.subject));
    const verified = await authApi.POST('/api/v1/auth/verify-email', { body: { token: tokenFrom(mail) } });
    expect(verified.response.ok, JSON.stringify(verified.error)).toBe(true);

    // 3. Log in: a student with a verified e-mail.
    const first = await login(teacher.email, teacher.password);
    expect(first.tokenType).toBe('Bearer');
    expect(first.user).toMatchObject({ email: teacher.email, role: 'student', emailVerified: true });
    expect(claims(first.accessToken)).toMatchObject({ role: 'student', emailVerified: true });
    const me = await authApi.GET('/api/v1/users/me', { headers: bearer(first.accessToken) });
    expect(me.data?.id).toBe(first.user.id);

    const draft = {
      title: `Compilers from Scratch ${suffix}`,
      summary: 'Lexers, parsers and code generation',
      description: 'Build a small compiler for a small language, one pass at a time.',
      category: 'Programming',
      tags: ['compilers', 'parsing'],
      level: 'intermediate' as const,
      language: 'en',
      durationMinutes: 240,
    };
    // A student may not create courses.
    const refused = await courseApi.POST('/api/v1/courses', { body: draft, headers: bearer(first.accessToken) });
    expect(refused.response.status).toBe(403);

    // 4. An admin makes the user an instructor; a refresh gives a token with the new role.
    const adminUser = await auth.newUser({ role: 'admin' });
    const admin = await login(adminUser.email, adminUser.password);
    const promoted = await authApi.PATCH('/api/v1/admin/users/{id}', {
      params: { path: { id: first.user.id } },
      body: { role: 'instructor' },
      headers: bearer(admin.accessToken),
    });
    expect(promoted.response.status, JSON.stringify(promoted.error)).toBe(200);
    expect(promoted.data?.role).toBe('instructor');
    const refreshed = await authApi.POST('/api/v1/auth/refresh', { body: { refreshToken: first.refreshToken } });
    expect(refreshed.response.status, JSON.stringify(refreshed.error)).toBe(200);
    const teacherToken = refreshed.data!.accessToken;
    expect(refreshed.data!.user.role).toBe('instructor');
    expect(claims(teacherToken)).toMatchObject({ role: 'instructor', sub: first.user.id });

    // 5. Create a draft (invisible to others), then publish it.
    // (A client that sends the token on every call, as a front end would hold it.)
    const teacherApi = courseClient({ baseUrl: courseUrl, token: () => teacherToken });
    teacherApi.use(conformsTo(course.checker));
    const created = await teacherApi.POST('/api/v1/courses', { body: draft });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    const courseId = created.data!.id;
    expect(created.data).toMatchObject({ status: 'draft', instructorId: first.user.id, instructorName: teacher.displayName });
    const hidden = await courseApi.GET('/api/v1/courses/{id}', { params: { path: { id: courseId } } });
    expect(hidden.response.status).toBe(404);
    // Publishing needs a curriculum: a section with a lesson.
    const section = await teacherApi.POST('/api/v1/courses/{id}/sections', { params: { path: { id: courseId } }, body: { title: 'Getting started' } });
    expect(section.response.status, JSON.stringify(section.error)).toBe(201);
    const lesson = await teacherApi.POST('/api/v1/sections/{id}/lessons', {
      params: { path: { id: section.data!.id } },
      body: { title: 'What a compiler does', kind: 'video', durationSeconds: 300, preview: true },
    });
    expect(lesson.response.status, JSON.stringify(lesson.error)).toBe(201);
    const published = await teacherApi.PATCH('/api/v1/courses/{id}', { params: { path: { id: courseId } }, body: { status: 'published' } });
    expect(published.response.status, JSON.stringify(published.error)).toBe(200);
    expect(published.data?.status).toBe('published');
    expect(published.data?.publishedAt).toBeTruthy();

    // It is in the public catalogue now.
    const listed = await courseApi.GET('/api/v1/courses', { params: { query: { q: `compilers ${suffix}`, limit: 10 } } });
    expect(listed.response.status).toBe(200);
    expect(listed.data?.items.map((c) => c.id)).toContain(courseId);

    // 6. Two other people (registered and confirmed the same way) review it.
    const reviewers = [
      { email: `alan-${suffix}@example.com`, password: `Machines-${suffix}!`, displayName: 'Alan Turing', rating: 5 },
      { email: `ada-${suffix}@example.com`, password: `Engines-${suffix}!`, displayName: 'Ada Lovelace', rating: 4 },
    ];
    for (const r of reviewers) {
      await registerAndConfirm(r.email, r.password, r.displayName);
      const session = await login(r.email, r.password);
      // Reviews come from the course's learners: enrol first (201 new).
      const enrolled = await courseApi.PUT('/api/v1/courses/{id}/enrolment', { params: { path: { id: courseId } }, headers: bearer(session.accessToken) });
      expect(enrolled.response.status, JSON.stringify(enrolled.error)).toBe(201);
      const review = await courseApi.POST('/api/v1/courses/{id}/reviews', {
        params: { path: { id: courseId } },
        body: { rating: r.rating, title: `${r.rating} stars`, body: 'Clear and practical.' },
        headers: bearer(session.accessToken),
      });
      expect(review.response.status, JSON.stringify(review.error)).toBe(201);
      expect(review.data).toMatchObject({ courseId, rating: r.rating, authorName: r.displayName, status: 'visible' });
      // One review per person per course.
      const again = await courseApi.POST('/api/v1/courses/{id}/reviews', {
        params: { path: { id: courseId } },
        body: { rating: 1 },
        headers: bearer(session.accessToken),
      });
      expect(again.response.status).toBe(409);
      expect(again.error?.code).toBe('review_exists');
    }
    // The owner may not review their own course.
    const own = await teacherApi.POST('/api/v1/courses/{id}/reviews', { params: { path: { id: courseId } }, body: { rating: 5 } });
    expect(own.response.status).toBeGreaterThanOrEqual(400);

    // 7. The rating, read anonymously (by id and by slug).
    const read = await courseApi.GET('/api/v1/courses/{id}', { params: { path: { id: courseId } } });
    expect(read.response.status).toBe(200);
    expect(read.data?.rating).toEqual({ average: 4.5, count: 2, distribution: { 1: 0, 2: 0, 3: 0, 4: 1, 5: 1 } });
    const bySlug = await courseApi.GET('/api/v1/courses/{id}', { params: { path: { id: created.data!.slug } } });
    expect(bySlug.data?.rating.count).toBe(2);
    const reviews = await courseApi.GET('/api/v1/courses/{id}/reviews', { params: { path: { id: courseId }, query: { sort: 'rating_desc' } } });
    expect(reviews.data?.items.map((r) => r.authorName)).toEqual(['Alan Turing', 'Ada Lovelace']);

    // 8. The instructor hears about each review by mail, once.
    for (const r of reviewers) {
      const reviewMail = await auth.smtp.waitFor((m) => m.to.includes(teacher.email) && m.subject.includes(draft.title) && m.subject.includes(`${r.rating}/5`));
      expect(reviewMail.text).toContain(r.displayName);
    }
    // Every event delivered and every mail sent: no further mail can come, so the count is final.
    await outboxesSettled({ course: course.database.db, auth: auth.database.db });
    expect(auth.smtp.to(teacher.email).filter((m) => m.subject.includes(draft.title))).toHaveLength(2);
    const { rows: queued } = await auth.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE recipient = $1 AND template = 'review_created'", [teacher.email]);
    expect(queued[0]!.n).toBe(2);
    // Every answer above went through the OpenAPI check (see conformsTo).
    expect(auth.checker.checked).toBeGreaterThanOrEqual(10);
    expect(course.checker.checked).toBeGreaterThanOrEqual(10);
  });
});

/** Never called: proves that the clients check paths, parameters and bodies at compile time. */
function _compileTimeChecks(a: AuthClient, c: CourseClient): void {
  // @ts-expect-error no such path
  void a.GET('/api/v1/no-such-path');
  // @ts-expect-error register needs a displayName
  void a.POST('/api/v1/auth/register', { body: { email: 'x@example.com', password: 'long-enough' } });
  // @ts-expect-error the role is not a free string
  void a.PATCH('/api/v1/admin/users/{id}', { params: { path: { id: 'x' } }, body: { role: 'owner' } });
  // @ts-expect-error the path parameter is required
  void c.GET('/api/v1/courses/{id}', {});
  // @ts-expect-error a rating is a number
  void c.POST('/api/v1/courses/{id}/reviews', { params: { path: { id: 'x' } }, body: { rating: 'five' } });
}
