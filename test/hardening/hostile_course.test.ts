/**
 * Hardening, part 1 (course-service): hostile input for every operation of the served OpenAPI document,
 * with real tokens from the real auth-service (`startPlatform()`). The same generators and rules as
 * hostile_auth.test.ts (see there):
 *  - a batch designed to be refused: every answer a documented 4xx problem+json, no stack trace or
 *    SQL, and neither database changed (row-by-row md5 of every table of both services). Only a GET
 *    may answer 2xx, and only by ignoring a query parameter it does not declare.
 *  - hostile text the schemas allow in every free-text field, query parameter and slug: never a 5xx,
 *    never a leak, and what a write accepted is stored as sent (trimmed at most).
 *
 * Who sends what: writes of the refused batch use an admin token (it may do the most, so a refusal is
 * never just "forbidden"), except the instructor-only review responses; the content probes use the
 * principal each operation is for (the course's instructor, the review's author, a fresh student).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenService } from '../../internal/auth-service/services/token_service.js';
import { startPlatform, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { hasPostgres } from '../helpers/services.js';
import { addCurriculum } from '../course-service/learning_fixtures.js';
import { publishedCourseOverHttp } from '../course-service/factories.js';
import {
  baseBody,
  contentVariants,
  dump,
  fingerprint,
  logIgnored,
  operationsOf,
  pathValues,
  refusedVariants,
  report,
  sendAll,
  validValue,
  type BaseRequest,
  type Operation,
  type Variant,
} from './generators.js';

const SEED = 20240612;

describe.skipIf(!hasPostgres)('hostile input: course-service', () => {
  let p: Platform;
  let ops: Operation[];
  let admin: PlatformUser;
  let instructor: PlatformUser;
  let author: PlatformUser;
  let other: PlatformUser;
  let authService: PlatformUser;
  const students: PlatformUser[] = [];
  const ids: Record<string, string> = {};
  const cursors = new Map<string, string[]>();
  const started = Date.now();
  const sent = { refused: 0, content: 0 };

  const courseBody = (title: string) => ({
    title,
    summary: 'A course made by the hostile-input suite',
    description: 'Long description',
    category: 'security',
    tags: ['fuzz', 'hardening'],
    level: 'beginner',
    language: 'en',
    durationMinutes: 90,
  });

  function baseFor(op: Operation): BaseRequest {
    const path = pathValues(op, ids);
    const query: [string, string][] = [];
    for (const x of op.parameters.filter((y) => y.in === 'query')) {
      if (x.name === 'limit') query.push(['limit', '1']);
      else if (x.name === 'authorId') query.push(['authorId', author.id]);
      else if (x.required) query.push([x.name, String(validValue(x.schema))]);
    }
    let body: Record<string, unknown> | undefined;
    if (op.body) {
      const props = op.body.schema.properties ?? {};
      const given: Record<string, unknown> = { ...courseBody('Hostile base'), rating: 4, body: 'Base text' };
      body = baseBody(op.body.schema, Object.fromEntries(Object.entries(given).filter(([k]) => k in props)));
    }
    return { path, query, ...(body ? { body } : {}) };
  }

  /** The principal an operation is for: an admin may do the most, but only authors edit reviews and only the instructor answers them. */
  function principalFor(op: Operation): PlatformUser | undefined {
    // The internal API is auth-service's alone: its own service token.
    if (op.path.startsWith('/internal/')) return authService;
    if (op.path.endsWith('/response')) return instructor;
    if (op.method === 'PATCH' && op.path.startsWith('/api/v1/reviews/')) return author;
    return admin;
  }
  const refusedToken = (v: Variant) => principalFor(v.op)?.token;

  let studentTurn = 0;
  function contentToken(v: Variant): string | undefined {
    const { method, path } = v.op;
    if (method === 'GET') return undefined;
    // Each student may review a course once: a pool, so that many hostile reviews are stored.
    if (method === 'POST' && path.endsWith('/reviews')) return students[studentTurn++ % students.length]!.token;
    if (path.startsWith('/api/v1/courses')) return instructor.token;
    return principalFor(v.op)?.token;
  }

  beforeAll(async () => {
    p = await startPlatform();
    const serviceToken = await new TokenService(p.auth.keys, p.auth.config.jwt, randomBytes(32)).issueAccessToken({
      sub: 'client:auth-service',
      role: 'service',
      name: 'auth-service',
      emailVerified: true,
    });
    authService = { id: 'client:auth-service', email: '', displayName: 'auth-service', token: serviceToken };
    ops = operationsOf(p.course.app.swagger());
    admin = await p.user({ role: 'admin' });
    instructor = await p.user({ role: 'instructor' });
    author = await p.user({ role: 'student' });
    other = await p.user({ role: 'student' });
    for (let i = 0; i < 12; i++) students.push(await p.user({ role: 'student' }));

    const courses: string[] = [];
    for (const title of ['Hostile One', 'Hostile Two', 'Hostile Three']) courses.push((await publishedCourseOverHttp(p.course.call, instructor.token, courseBody(title))).id);
    ids.courses = courses[0]!;
    // A second section, holding one lesson, for the curriculum routes.
    const section = await p.course.call('POST', `/api/v1/courses/${courses[0]}/sections`, { token: instructor.token, body: { title: 'Hostile section' } });
    expect(section.status, section.text).toBe(201);
    ids.sections = section.body.id;
    const lesson = await p.course.call('POST', `/api/v1/sections/${section.body.id}/lessons`, { token: instructor.token, body: { title: 'Hostile lesson', kind: 'article', durationSeconds: 60 } });
    expect(lesson.status, lesson.text).toBe(201);
    ids.lessons = lesson.body.id;
    for (const [who, course, rating] of [[author, courses[0], 5], [author, courses[1], 3], [other, courses[0], 2]] as [PlatformUser, string, number][]) {
      // Reviews come from the course's learners (reviews.requireEnrolment); two courses each give the learning lists a second page.
      expect((await p.course.call('PUT', `/api/v1/courses/${course}/enrolment`, { token: who.token })).status).toBe(201);
      const res = await p.course.call('POST', `/api/v1/courses/${course}/reviews`, { token: who.token, body: { rating, title: 'Seed', body: 'Seed review' } });
      expect(res.status, res.text).toBe(201);
      if (who === author && course === courses[0]) ids.reviews = res.body.id;
    }
    ids.lessons = (await addCurriculum(p.course.db, courses[0]!, [1]))[0]!.id;
    // Real cursors of every list and sort order (first pages of one item), to tamper with.
    for (const op of ops.filter((o) => o.method === 'GET' && o.parameters.some((x) => x.name === 'cursor'))) {
      const sorts = (op.parameters.find((x) => x.name === 'sort')?.schema.enum as string[] | undefined) ?? [undefined];
      const found: string[] = [];
      for (const sort of sorts) {
        const base = baseFor(op);
        const extra: [string, string][] = sort ? [['sort', sort], ...(sort === 'relevance' ? [['q', 'hostile'] as [string, string]] : [])] : [];
        const query = new URLSearchParams([...base.query, ...extra]);
        const url = `${op.path.replace(/\{(\w+)\}/g, (_, n: string) => base.path[n]!)}?${query.toString()}`;
        // The instructor's own list is private: their token (they made the three courses above).
        // The learner's own list: the author's (enrolled in two courses); a course's roster: its instructor's.
        const token = op.path === '/api/v1/enrolments' ? author.token : op.path.startsWith('/api/v1/instructor/') || op.path.endsWith('/enrolments') ? instructor.token : undefined;
        const res = await p.course.call('GET', url, token ? { token } : {});
        if (res.body.nextCursor) found.push(res.body.nextCursor);
      }
      cursors.set(op.path, found);
    }
  }, 60_000);

  afterAll(async () => {
    await p?.close();
  });

  it('walks every operation of the served document', () => {
    const doc = p.course.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const count = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).filter((m) => ['get', 'put', 'post', 'delete', 'patch'].includes(m)).length, 0);
    expect(ops.length).toBe(count);
    expect(ops.length).toBeGreaterThan(15);
    for (const [path, list] of cursors) expect(list.length, `no second page of ${path}`).toBeGreaterThan(0);
  });

  it('refuses every hostile request with a documented 4xx problem, and changes nothing in either database', async () => {
    const variants: Variant[] = ops.flatMap((op) =>
      refusedVariants(op, baseFor(op), { bodyLimit: p.course.config.http.bodyLimit, cursors: cursors.get(op.path), token: admin.token, seed: SEED, runs: 30, alsoWithoutToken: true }),
    );
    const before = { course: await fingerprint(p.course.database.db), auth: await fingerprint(p.auth.database.db) };
    const outcomes = await sendAll(p.course.app, p.course.checker, variants, refusedToken);
    const after = { course: await fingerprint(p.course.database.db), auth: await fingerprint(p.auth.database.db) };
    sent.refused = outcomes.length;
    // A floor (5021 were sent when it was set): generators that silently stop producing fail here.
    expect(outcomes.length).toBeGreaterThan(3500);
    dump('course', outcomes);

    for (const op of ops) expect(outcomes.some((o) => o.variant.op === op), `${op.method} ${op.path} got no hostile request`).toBe(true);
    // A `..` course id is removed with its segment before routing (RFC 3986 5.2.4): /courses/../enrolments
    // is GET /api/v1/enrolments, the caller's own (here empty) list, a request of another route.
    const dotSegment = /^GET \/api\/v1\/courses\/\{id\}\/enrolments \[path id (= "\.\."|raw %2e%2e)\] -> 200: .*\{"items":\[\],"nextCursor":null\}$/;
    const findings = report(outcomes).filter((f) => !dotSegment.test(f));
    expect(findings, findings.join('\n')).toEqual([]);
    expect(after, 'a refused request changed a database').toEqual(before);
    expect(outcomes.filter((o) => o.status >= 400).length).toBeGreaterThan(outcomes.length * 0.95);
    logIgnored('course', outcomes);
  }, 120_000);

  it('survives hostile text that the schemas allow (injection strings, odd Unicode, fast-check strings)', async () => {
    const variants = ops.flatMap((op) => contentVariants(op, baseFor(op), { seed: SEED, runs: 30 }));
    const outcomes = await sendAll(p.course.app, p.course.checker, variants, contentToken, 4);
    sent.content = outcomes.length;
    expect(outcomes.length).toBeGreaterThan(800); // 1150 when set
    dump('course', outcomes);
    const findings = report(outcomes);
    expect(findings, findings.join('\n')).toEqual([]);
    // The writes took hostile text (the lists include values every free-text field allows).
    const accepted = new Set(outcomes.filter((o) => o.status < 300 && o.variant.method !== 'GET').map((o) => `${o.variant.method} ${o.variant.op.path}`));
    expect([...accepted].sort()).toEqual(expect.arrayContaining(['PATCH /api/v1/courses/{id}', 'POST /api/v1/courses', 'PUT /api/v1/reviews/{id}/response']));
  }, 120_000);

  // The size of the run for the hardening report (not a test: each test above asserts its own minimum).
  afterAll(() => {
    console.error(`course-service hostile input: ${sent.refused} refused-batch requests, ${sent.content} content probes, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
