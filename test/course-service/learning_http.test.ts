/**
 * Learning over HTTP with real auth-service tokens: enrol and leave, my learning, the roster, lesson
 * completion and progress, certificates, instructor stats, reviews from active learners only, the
 * authorisation matrix of every endpoint and bad input (4xx problem+json, nothing written).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startPlatform, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { newCourseInput, publishedCourseOverHttp } from './factories.js';
import { addCurriculum, recount, type LessonFixture } from './learning_fixtures.js';

describe.skipIf(!hasPostgres)('course-service HTTP: learning', () => {
  let p: Platform;
  let owner: PlatformUser;
  let otherInstructor: PlatformUser;
  let learner: PlatformUser;
  let nonLearner: PlatformUser;
  let admin: PlatformUser;

  beforeAll(async () => {
    p = await startPlatform();
    [owner, otherInstructor, learner, nonLearner, admin] = await Promise.all([
      p.user({ role: 'instructor' }),
      p.user({ role: 'instructor' }),
      p.user({ role: 'student' }),
      p.user({ role: 'student' }),
      p.user({ role: 'admin' }),
    ]);
  });
  afterAll(async () => {
    await p?.close();
  });

  const call = (...args: Parameters<Platform['course']['call']>) => p.course.call(...args);
  const db = () => p.course.db;

  /** A published course (one lesson: `publishedCourseOverHttp`) or a draft. */
  async function course(status: 'published' | 'draft' = 'published', by: PlatformUser = owner): Promise<{ id: string; slug: string; title: string }> {
    if (status === 'published') return publishedCourseOverHttp(call, by.token);
    const res = await call('POST', '/api/v1/courses', { token: by.token, body: newCourseInput() });
    expect(res.status, res.text).toBe(201);
    return res.body;
  }

  /** A draft given exactly these lessons (`perSection` per section), then published with PATCH. */
  async function courseWithLessons(perSection = [2, 1]): Promise<{ id: string; slug: string; title: string; lessons: LessonFixture[] }> {
    const c = await course('draft');
    const lessons = await addCurriculum(db(), c.id, perSection);
    const published = await call('PATCH', `/api/v1/courses/${c.id}`, { token: owner.token, body: { status: 'published' } });
    expect(published.status, published.text).toBe(200);
    return { ...c, lessons };
  }

  async function enrol(courseId: string, who: PlatformUser, expected = 201) {
    const res = await call('PUT', `/api/v1/courses/${courseId}/enrolment`, { token: who.token });
    expect(res.status, res.text).toBe(expected);
    return res.body;
  }

  async function outboxEvents(type: string, courseId: string): Promise<Record<string, unknown>[]> {
    const { rows } = await db().query<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM course_outbox WHERE type = $1 AND payload->>'courseId' = $2 ORDER BY created_at, id`,
      [type, courseId],
    );
    return rows.map((r) => r.payload);
  }

  async function dailyStats(courseId: string) {
    const { rows } = await db().query<{ enrolled: number; left_count: number; completed: number }>(
      `SELECT COALESCE(sum(enrolled), 0)::int AS enrolled, COALESCE(sum(left_count), 0)::int AS left_count, COALESCE(sum(completed), 0)::int AS completed
         FROM course_daily_stats WHERE course_id = $1`,
      [courseId],
    );
    return rows[0]!;
  }

  it('enrols (201), again is 200 with the same enrolment, leaving keeps progress, enrolling again re-activates (200); counters, stats and events move once each', async () => {
    const c = await courseWithLessons();
    const first = await enrol(c.id, learner, 201);
    expect(first).toMatchObject({ courseId: c.id, status: 'active', leftAt: null, completedAt: null, completedLessons: 0, lessonCount: 3, percent: 0 });
    const again = await enrol(c.id, learner, 200);
    expect(again.enrolledAt).toBe(first.enrolledAt);

    const done = await call('PUT', `/api/v1/lessons/${c.lessons[0]!.id}/completion`, { token: learner.token });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ completedLessons: 1, lessonCount: 3, percent: 33, lastLessonId: c.lessons[0]!.id, nextLessonId: c.lessons[1]!.id });

    const detail = await call('GET', `/api/v1/courses/${c.id}`);
    expect(detail.body.enrolmentCount).toBe(1);

    expect((await call('DELETE', `/api/v1/courses/${c.id}/enrolment`, { token: learner.token })).status).toBe(204);
    expect((await call('DELETE', `/api/v1/courses/${c.id}/enrolment`, { token: learner.token })).status).toBe(204);
    // The course detail (cached for anonymous readers) shows the new count at once.
    expect((await call('GET', `/api/v1/courses/${c.id}`)).body.enrolmentCount).toBe(0);
    const progress = await call('GET', `/api/v1/courses/${c.id}/progress`, { token: learner.token });
    expect(progress.body).toMatchObject({ completedLessons: 1, percent: 33 });
    // A learner who left may not complete lessons.
    const refused = await call('PUT', `/api/v1/lessons/${c.lessons[1]!.id}/completion`, { token: learner.token });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('enrolment_required');

    const back = await enrol(c.id, learner, 200);
    expect(back).toMatchObject({ status: 'active', leftAt: null, completedLessons: 1, enrolledAt: first.enrolledAt });

    expect(await recount(db(), c.id)).toEqual({ stored: { active: 1, total: 1, completed: 0 }, recount: { active: 1, total: 1, completed: 0 } });
    expect(await dailyStats(c.id)).toEqual({ enrolled: 2, left_count: 1, completed: 0 });
    const events = await outboxEvents('enrolment_created', c.id);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ courseId: c.id, courseTitle: c.title, courseSlug: c.slug, userId: learner.id });
    expect(typeof events[0]!.eventId).toBe('string');
  });

  it('refuses enrolment in drafts (404), archived courses for new learners (404, existing learners kept: 200), own course (409 own_course)', async () => {
    const draft = await course('draft');
    const res = await call('PUT', `/api/v1/courses/${draft.id}/enrolment`, { token: learner.token });
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('course_not_found');
    // An admin sees the draft but cannot enrol either.
    expect((await call('PUT', `/api/v1/courses/${draft.id}/enrolment`, { token: admin.token })).status).toBe(404);

    const c = await course();
    await enrol(c.id, learner);
    const own = await call('PUT', `/api/v1/courses/${c.id}/enrolment`, { token: owner.token });
    expect(own.status).toBe(409);
    expect(own.body.code).toBe('own_course');
    expect((await call('PATCH', `/api/v1/courses/${c.id}`, { token: owner.token, body: { status: 'archived' } })).status).toBe(200);
    expect((await call('PUT', `/api/v1/courses/${c.id}/enrolment`, { token: nonLearner.token })).status).toBe(404);
    expect((await call('PUT', `/api/v1/courses/${c.id}/enrolment`, { token: learner.token })).status).toBe(200);
    expect(await recount(db(), c.id)).toEqual({ stored: { active: 1, total: 1, completed: 0 }, recount: { active: 1, total: 1, completed: 0 } });
    const { rows } = await db().query(`SELECT 1 FROM enrolments WHERE course_id = ANY($1::uuid[])`, [[draft.id]]);
    expect(rows).toHaveLength(0);
  });

  it('completes every lesson: percent 100, completedAt once, one certificate with copied names, course_completed event; un-completing revokes nothing', async () => {
    const c = await courseWithLessons([1, 1]);
    await enrol(c.id, learner);
    await call('PUT', `/api/v1/lessons/${c.lessons[0]!.id}/completion`, { token: learner.token });
    const last = await call('PUT', `/api/v1/lessons/${c.lessons[1]!.id}/completion`, { token: learner.token });
    expect(last.status).toBe(200);
    expect(last.body).toMatchObject({ completedLessons: 2, lessonCount: 2, percent: 100, nextLessonId: null });
    expect(last.body.completedAt).not.toBeNull();
    expect(last.body.certificateId).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    // Idempotent: again changes nothing.
    const again = await call('PUT', `/api/v1/lessons/${c.lessons[1]!.id}/completion`, { token: learner.token });
    expect(again.body).toMatchObject({ completedLessons: 2, percent: 100, completedAt: last.body.completedAt, certificateId: last.body.certificateId });

    const cert = await call('GET', `/api/v1/certificates/${last.body.certificateId}`);
    expect(cert.status).toBe(200);
    expect(cert.body).toEqual({
      verificationId: last.body.certificateId,
      learnerName: learner.displayName,
      courseTitle: c.title,
      instructorName: expect.any(String),
      durationSeconds: 120,
      issuedAt: expect.any(String),
      status: 'valid',
    });
    expect(cert.body.instructorName.length).toBeGreaterThan(0);

    const undo = await call('DELETE', `/api/v1/lessons/${c.lessons[1]!.id}/completion`, { token: learner.token });
    expect(undo.status).toBe(200);
    expect(undo.body).toMatchObject({ completedLessons: 1, percent: 50, completedAt: last.body.completedAt, certificateId: last.body.certificateId, nextLessonId: c.lessons[1]!.id });
    const undoAgain = await call('DELETE', `/api/v1/lessons/${c.lessons[1]!.id}/completion`, { token: learner.token });
    expect(undoAgain.body.completedLessons).toBe(1);
    // Completing it again does not complete the course a second time.
    await call('PUT', `/api/v1/lessons/${c.lessons[1]!.id}/completion`, { token: learner.token });
    expect(await outboxEvents('course_completed', c.id)).toEqual([
      expect.objectContaining({ courseId: c.id, userId: learner.id, certificateVerificationId: last.body.certificateId, courseSlug: c.slug }),
    ]);
    const { rows } = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM certificates WHERE course_id = $1`, [c.id]);
    expect(rows[0]!.n).toBe(1);
    const lessonCounts = await db().query<{ completion_count: number }>(`SELECT completion_count FROM lessons WHERE course_id = $1 ORDER BY title`, [c.id]);
    expect(lessonCounts.rows.map((r) => r.completion_count)).toEqual([1, 1]);
    expect(await recount(db(), c.id)).toMatchObject({ stored: { completed: 1 }, recount: { completed: 1 } });
    expect((await dailyStats(c.id)).completed).toBe(1);

    // A lesson added later lowers the percent but keeps completedAt and the certificate.
    await addCurriculum(db(), c.id, [1]);
    const after = await call('GET', `/api/v1/courses/${c.id}/progress`, { token: learner.token });
    expect(after.body).toMatchObject({ completedLessons: 2, lessonCount: 3, percent: 66, completedAt: last.body.completedAt, certificateId: last.body.certificateId });
  });

  it('my learning: cards with progress, newest activity first, status filters, keyset pages', async () => {
    const me = await p.user({ role: 'student' });
    const cs = [await courseWithLessons([1]), await courseWithLessons([2]), await courseWithLessons([1])];
    for (const c of cs) await enrol(c.id, me);
    await call('PUT', `/api/v1/lessons/${cs[0]!.lessons[0]!.id}/completion`, { token: me.token }); // completes cs[0]
    await call('DELETE', `/api/v1/courses/${cs[2]!.id}/enrolment`, { token: me.token });
    await call('PUT', `/api/v1/lessons/${cs[1]!.lessons[0]!.id}/completion`, { token: me.token }); // newest activity

    const all = await call('GET', '/api/v1/enrolments', { token: me.token });
    expect(all.status).toBe(200);
    expect(all.body.items.map((i: { courseId: string }) => i.courseId)).toEqual([cs[1]!.id, cs[0]!.id, cs[2]!.id]);
    expect(all.body.items[0]).toMatchObject({ courseTitle: cs[1]!.title, courseSlug: cs[1]!.slug, status: 'active', completedLessons: 1, lessonCount: 2, percent: 50, lastLessonId: cs[1]!.lessons[0]!.id, completedAt: null });
    const ids = async (status: string) =>
      (await call('GET', `/api/v1/enrolments?status=${status}`, { token: me.token })).body.items.map((i: { courseId: string }) => i.courseId);
    expect(await ids('active')).toEqual([cs[1]!.id]);
    expect(await ids('completed')).toEqual([cs[0]!.id]);
    expect(await ids('left')).toEqual([cs[2]!.id]);

    const page1 = await call('GET', '/api/v1/enrolments?limit=2', { token: me.token });
    expect(page1.body.items).toHaveLength(2);
    const page2 = await call('GET', `/api/v1/enrolments?limit=2&cursor=${page1.body.nextCursor}`, { token: me.token });
    expect(page2.body.items.map((i: { courseId: string }) => i.courseId)).toEqual([cs[2]!.id]);
    expect(page2.body.nextCursor).toBeNull();
    // A cursor of another filter is refused.
    const wrong = await call('GET', `/api/v1/enrolments?status=active&cursor=${page1.body.nextCursor}`, { token: me.token });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('invalid_cursor');
    expect((await call('GET', '/api/v1/enrolments?status=paused', { token: me.token })).status).toBe(400);
    // Another user's list is theirs: mine holds none of these.
    expect((await call('GET', '/api/v1/enrolments', { token: nonLearner.token })).body.items.map((i: { courseId: string }) => i.courseId)).not.toContain(cs[0]!.id);
  });

  it('authorisation matrix of every learning endpoint (anonymous, learner, non-learner, owner, another instructor, admin)', async () => {
    const c = await courseWithLessons([1, 1]);
    const learnerHere = await p.user({ role: 'student' });
    await enrol(c.id, learnerHere);
    await call('PUT', `/api/v1/lessons/${c.lessons[0]!.id}/completion`, { token: learnerHere.token });
    const done = await call('PUT', `/api/v1/lessons/${c.lessons[1]!.id}/completion`, { token: learnerHere.token });
    const certificateId = done.body.certificateId as string;
    const before = await recount(db(), c.id);

    type Who = PlatformUser | undefined;
    const people: [string, Who][] = [
      ['anonymous', undefined],
      ['learner', learnerHere],
      ['non-learner', nonLearner],
      ['owner', owner],
      ['another instructor', otherInstructor],
      ['admin', admin],
    ];
    const expectations: { name: string; method: string; url: string; status: Record<string, number | [number, string]> }[] = [
      {
        name: 'roster',
        method: 'GET',
        url: `/api/v1/courses/${c.id}/enrolments`,
        status: { anonymous: 401, learner: [404, 'course_not_found'], 'non-learner': [404, 'course_not_found'], owner: 200, 'another instructor': [404, 'course_not_found'], admin: 200 },
      },
      {
        name: 'stats',
        method: 'GET',
        url: `/api/v1/instructor/courses/${c.id}/stats`,
        status: { anonymous: 401, learner: [404, 'course_not_found'], 'non-learner': [404, 'course_not_found'], owner: 200, 'another instructor': [404, 'course_not_found'], admin: 200 },
      },
      {
        name: 'progress',
        method: 'GET',
        url: `/api/v1/courses/${c.id}/progress`,
        status: { anonymous: 401, learner: 200, 'non-learner': [404, 'not_enrolled'], owner: [404, 'not_enrolled'], 'another instructor': [404, 'not_enrolled'], admin: [404, 'not_enrolled'] },
      },
      {
        name: 'uncomplete',
        method: 'DELETE',
        url: `/api/v1/lessons/${c.lessons[0]!.id}/completion`,
        status: {
          anonymous: 401,
          learner: 200,
          'non-learner': [403, 'enrolment_required'],
          owner: [403, 'enrolment_required'],
          'another instructor': [403, 'enrolment_required'],
          admin: [403, 'enrolment_required'],
        },
      },
      {
        name: 'complete',
        method: 'PUT',
        url: `/api/v1/lessons/${c.lessons[0]!.id}/completion`,
        status: {
          anonymous: 401,
          learner: 200,
          'non-learner': [403, 'enrolment_required'],
          owner: [403, 'enrolment_required'],
          'another instructor': [403, 'enrolment_required'],
          admin: [403, 'enrolment_required'],
        },
      },
      {
        name: 'my learning',
        method: 'GET',
        url: '/api/v1/enrolments',
        status: { anonymous: 401, learner: 200, 'non-learner': 200, owner: 200, 'another instructor': 200, admin: 200 },
      },
      {
        name: 'certificate',
        method: 'GET',
        url: `/api/v1/certificates/${certificateId}`,
        status: { anonymous: 200, learner: 200, 'non-learner': 200, owner: 200, 'another instructor': 200, admin: 200 },
      },
      {
        name: 'leave (never enrolled)',
        method: 'DELETE',
        url: `/api/v1/courses/${c.id}/enrolment`,
        status: { anonymous: 401, 'non-learner': [404, 'not_enrolled'], owner: [404, 'not_enrolled'], 'another instructor': [404, 'not_enrolled'], admin: [404, 'not_enrolled'] },
      },
      {
        name: 'enrol',
        method: 'PUT',
        url: `/api/v1/courses/${c.id}/enrolment`,
        status: { anonymous: 401, learner: 200, owner: [409, 'own_course'] },
      },
    ];
    for (const e of expectations) {
      for (const [who, user] of people) {
        const want = e.status[who];
        if (want === undefined) continue;
        const [status, code] = Array.isArray(want) ? want : [want, undefined];
        const res = await call(e.method, e.url, user ? { token: user.token } : {});
        expect(res.status, `${e.name} as ${who}: ${res.text}`).toBe(status);
        if (code) expect(res.body.code, `${e.name} as ${who}`).toBe(code);
        if (status >= 400) expect(res.headers['content-type']).toContain('application/problem+json');
      }
    }
    // Roster: names, dates and progress, no e-mail.
    const roster = await call('GET', `/api/v1/courses/${c.id}/enrolments`, { token: owner.token });
    expect(roster.body.items).toEqual([expect.objectContaining({ userId: learnerHere.id, learnerName: learnerHere.displayName, status: 'active', percent: 100 })]);
    expect(roster.text).not.toContain('@');
    // The refused calls wrote nothing.
    expect(await recount(db(), c.id)).toEqual(before);
    const { rows } = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM lesson_completions WHERE course_id = $1`, [c.id]);
    expect(rows[0]!.n).toBe(2);
    // Another instructor and an admin may enrol in someone else's course (201).
    await enrol(c.id, otherInstructor, 201);
    await enrol(c.id, admin, 201);
  });

  it('bad input: unknown and malformed ids, cursors, certificate ids, stats ranges: 4xx problem+json, nothing written', async () => {
    const unknown = newId();
    const cases: [string, string, number, string][] = [
      ['PUT', `/api/v1/courses/${unknown}/enrolment`, 404, 'course_not_found'],
      ['PUT', '/api/v1/courses/not-a-uuid/enrolment', 400, 'validation_failed'],
      ['DELETE', `/api/v1/courses/${unknown}/enrolment`, 404, 'course_not_found'],
      ['GET', `/api/v1/courses/${unknown}/enrolments`, 404, 'course_not_found'],
      ['GET', `/api/v1/courses/${unknown}/progress`, 404, 'course_not_found'],
      ['PUT', `/api/v1/lessons/${unknown}/completion`, 404, 'lesson_not_found'],
      ['DELETE', `/api/v1/lessons/${unknown}/completion`, 404, 'lesson_not_found'],
      ['PUT', '/api/v1/lessons/123/completion', 400, 'validation_failed'],
      ['GET', '/api/v1/certificates/AAAAAAAAAAAAAAAAAAAAAA', 404, 'certificate_not_found'],
      ['GET', '/api/v1/certificates/short', 400, 'validation_failed'],
      ['GET', `/api/v1/certificates/${'x'.repeat(65)}`, 400, 'validation_failed'],
      ['GET', '/api/v1/enrolments?cursor=garbage!', 400, 'invalid_cursor'],
      ['GET', '/api/v1/enrolments?limit=0', 400, 'validation_failed'],
      ['GET', '/api/v1/enrolments?limit=101', 400, 'validation_failed'],
      ['GET', '/api/v1/enrolments?role=admin', 400, 'validation_failed'],
      ['GET', `/api/v1/instructor/courses/${unknown}/stats`, 404, 'course_not_found'],
    ];
    for (const [method, url, status, code] of cases) {
      const res = await call(method, url, { token: learner.token });
      expect(res.status, `${method} ${url}: ${res.text}`).toBe(status);
      expect(res.body.code, `${method} ${url}`).toBe(code);
    }
    const c = await course();
    const stats = (q: string) => call('GET', `/api/v1/instructor/courses/${c.id}/stats${q}`, { token: owner.token });
    for (const q of ['?from=2024-02-30', '?from=2024-05-02&to=2024-05-01', '?from=2023-01-01&to=2024-12-31', '?to=tomorrow', '?days=3']) {
      const res = await stats(q);
      expect(res.status, `${q}: ${res.text}`).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect((await stats('?from=2024-01-01&to=2024-12-31')).body.days).toHaveLength(366);
    const { rows } = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM enrolments WHERE course_id = $1`, [unknown]);
    expect(rows[0]!.n).toBe(0);
  });

  it('stats: per day enrolled/left/completed, learners, completion rate, completions per lesson, rating distribution', async () => {
    const c = await courseWithLessons([1]);
    const [a, b, d] = await Promise.all([p.user(), p.user(), p.user()]);
    for (const u of [a!, b!, d!]) await enrol(c.id, u);
    await call('DELETE', `/api/v1/courses/${c.id}/enrolment`, { token: d!.token });
    await call('PUT', `/api/v1/lessons/${c.lessons[0]!.id}/completion`, { token: a!.token });
    const r = await call('POST', `/api/v1/courses/${c.id}/reviews`, { token: a!.token, body: { rating: 5 } });
    expect(r.status, r.text).toBe(201);

    const today = new Date().toISOString().slice(0, 10);
    const res = await call('GET', `/api/v1/instructor/courses/${c.id}/stats`, { token: owner.token });
    expect(res.status, res.text).toBe(200);
    expect(res.body.to).toBe(today);
    expect(res.body.days).toHaveLength(30);
    expect(res.body.days.at(-1)).toEqual({ day: today, enrolled: 3, left: 1, completed: 1 });
    expect(res.body.days[0]).toMatchObject({ enrolled: 0, left: 0, completed: 0 });
    expect(res.body).toMatchObject({
      courseId: c.id,
      activeLearners: 2,
      totalLearners: 3,
      completions: 1,
      completionRate: 0.3333,
      lessons: [{ lessonId: c.lessons[0]!.id, title: c.lessons[0]!.title, completions: 1 }],
      rating: { count: 1, average: 5, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 1 } },
    });
  });

  it('reviews: only active learners (403 enrolment_required); a learner who left keeps, edits and deletes their review', async () => {
    const c = await course();
    const res = await call('POST', `/api/v1/courses/${c.id}/reviews`, { token: nonLearner.token, body: { rating: 3 } });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('enrolment_required');
    const reviewer = await p.user();
    await enrol(c.id, reviewer);
    const created = await call('POST', `/api/v1/courses/${c.id}/reviews`, { token: reviewer.token, body: { rating: 4, title: 'Good' } });
    expect(created.status, created.text).toBe(201);
    await call('DELETE', `/api/v1/courses/${c.id}/enrolment`, { token: reviewer.token });
    expect((await call('GET', `/api/v1/reviews/${created.body.id}`)).status).toBe(200);
    const edited = await call('PATCH', `/api/v1/reviews/${created.body.id}`, { token: reviewer.token, body: { rating: 2 } });
    expect(edited.status, edited.text).toBe(200);
    expect((await call('DELETE', `/api/v1/reviews/${created.body.id}`, { token: reviewer.token })).status).toBe(204);
    // Left: may not write a new one.
    const again = await call('POST', `/api/v1/courses/${c.id}/reviews`, { token: reviewer.token, body: { rating: 4 } });
    expect(again.status).toBe(403);
    expect(again.body.code).toBe('enrolment_required');
    const { rows } = await db().query<{ rating_count: number }>(`SELECT rating_count FROM courses WHERE id = $1`, [c.id]);
    expect(rows[0]!.rating_count).toBe(0);
  });

  it('sort=popular orders by active learners, then review count, then id; enrolmentCount in list items', async () => {
    const category = `Pop${Date.now()}`;
    const mk = () => publishedCourseOverHttp(call, owner.token, { category });
    const [c1, c2, c3] = [await mk(), await mk(), await mk()];
    const users = await Promise.all([p.user(), p.user(), p.user()]);
    for (const u of users) await enrol(c2.id, u);
    await enrol(c3.id, users[0]!);
    const list = await call('GET', `/api/v1/courses?sort=popular&category=${category}&limit=2`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((i: { id: string; enrolmentCount: number }) => [i.id, i.enrolmentCount])).toEqual([
      [c2.id, 3],
      [c3.id, 1],
    ]);
    const next = await call('GET', `/api/v1/courses?sort=popular&category=${category}&limit=2&cursor=${list.body.nextCursor}`);
    expect(next.body.items.map((i: { id: string }) => i.id)).toEqual([c1.id]);
  });
});
