/**
 * course-service's side of account deletion: POST /internal/v1/account-events applies auth-service's
 * `account_deleted` once (reviews anonymised or erased with exact aggregates; enrolments, progress and
 * certificates removed with counters equal to a recount; own courses archived), a replay changes
 * nothing, and only auth-service's own service token is let in. Real PostgreSQL, tokens verified
 * against auth-service's JWKS over HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../internal/shared/utils/ids.js';
import { hasPostgres } from '../helpers/services.js';
import { SERVICE_CLIENT } from '../helpers/auth_app.js';
import { counterMismatches, seedLearning, seedLessons, startGdprPlatform, type GdprPlatform, type GdprUser } from '../helpers/gdpr_platform.js';
import { publishedCourseOverHttp } from './factories.js';

const COURSE = { summary: 's', description: 'd', category: 'Data', tags: ['sql'], level: 'beginner', language: 'en', durationMinutes: 60 };

describe.skipIf(!hasPostgres)('account events (course-service)', () => {
  let p: GdprPlatform;
  let teacher: GdprUser;
  let admin: GdprUser;

  beforeAll(async () => {
    p = await startGdprPlatform();
    teacher = await p.user({ role: 'instructor' });
    admin = await p.user({ role: 'admin' });
  });
  afterAll(async () => {
    await p?.close();
  });

  const db = () => p.course.database.db;

  async function course(owner: GdprUser, title: string, status: 'published' | 'draft' = 'published'): Promise<string> {
    if (status === 'published') return (await publishedCourseOverHttp(p.course.call, owner.token, { title, ...COURSE })).id;
    const res = await p.course.call('POST', '/api/v1/courses', { token: owner.token, body: { title, ...COURSE } });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function review(author: GdprUser, courseId: string, rating: number): Promise<string> {
    const res = await p.course.call('POST', `/api/v1/courses/${courseId}/reviews`, { token: author.token, body: { rating, title: `r${rating}`, body: 'text' } });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  async function send(body: Record<string, unknown>, token?: string) {
    return p.course.call('POST', '/internal/v1/account-events', { token: token ?? (await p.serviceToken()), body });
  }

  /** Everything the event may touch, to compare before and after a replay. */
  async function snapshot() {
    const q = async (sql: string) => (await db().query(sql)).rows;
    return {
      courses: await q('SELECT id, status, instructor_name, rating_count, rating_sum, rating_1, rating_2, rating_3, rating_4, rating_5, enrolment_count, learner_total, completion_count FROM courses ORDER BY id'),
      reviews: await q('SELECT id, author_id, author_name, rating, status FROM reviews ORDER BY id'),
      enrolments: await q('SELECT course_id, user_id, status FROM enrolments ORDER BY course_id, user_id'),
      completions: await q('SELECT user_id, lesson_id FROM lesson_completions ORDER BY user_id, lesson_id'),
      lessons: await q('SELECT id, completion_count FROM lessons ORDER BY id'),
      certificates: await q('SELECT user_id, course_id FROM certificates ORDER BY user_id, course_id'),
    };
  }

  it('anonymises the reviews (aggregates unchanged), removes learning data with exact counters, archives own courses; a replay changes nothing', async () => {
    const leaver = await p.user({ role: 'instructor' });
    const other = await p.user();
    const a = await course(teacher, 'Anonymous A');
    const b = await course(teacher, 'Anonymous B');
    const own = await course(leaver, 'Leaver own course');
    const ownDraft = await course(leaver, 'Leaver draft', 'draft');
    const ra = await review(leaver, a, 5);
    const rb = await review(leaver, b, 2);
    await review(other, a, 3);
    // An admin hides the leaver's review of B: out of the aggregate before and after.
    expect((await p.course.call('PATCH', `/api/v1/reviews/${rb}`, { token: admin.token, body: { status: 'hidden' } })).status).toBe(200);
    const lessons = await seedLessons(db(), a);
    await seedLearning(db(), { userId: leaver.id, courseId: a, lessonIds: lessons, completed: true, name: leaver.displayName });
    await seedLearning(db(), { userId: other.id, courseId: a, lessonIds: [lessons[0]!] });
    await seedLearning(db(), { userId: leaver.id, courseId: b, lessonIds: [], status: 'left' });
    expect(await counterMismatches(db())).toEqual([]);
    const before = (await db().query<Record<string, number>>('SELECT id, rating_count, rating_sum, enrolment_count, learner_total, completion_count FROM courses WHERE id = ANY($1) ORDER BY id', [[a, b]])).rows;

    const eventId = newId();
    const res = await send({ eventId, type: 'account_deleted', userId: leaver.id, eraseReviews: false });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'applied' });

    const reviews = (await db().query<{ id: string; author_id: string | null; author_name: string; status: string }>('SELECT id, author_id, author_name, status FROM reviews WHERE id = ANY($1) ORDER BY id', [[ra, rb]])).rows;
    expect(reviews).toHaveLength(2);
    for (const r of reviews) expect(r).toMatchObject({ author_id: null, author_name: 'Deleted user' });
    // Ratings unchanged; learners, totals and completions down by the leaver's rows.
    const after = (await db().query<Record<string, number>>('SELECT id, rating_count, rating_sum, enrolment_count, learner_total, completion_count FROM courses WHERE id = ANY($1) ORDER BY id', [[a, b]])).rows;
    const byId = (rows: Record<string, number>[], id: string) => rows.find((r) => String(r.id) === id)!;
    expect(byId(after, a)).toMatchObject({ rating_count: byId(before, a).rating_count, rating_sum: byId(before, a).rating_sum, enrolment_count: 1, learner_total: 1, completion_count: 0 });
    expect(byId(after, b)).toMatchObject({ rating_count: byId(before, b).rating_count, enrolment_count: 0, learner_total: 0 });
    expect(await counterMismatches(db())).toEqual([]);
    expect((await db().query('SELECT 1 FROM enrolments WHERE user_id = $1', [leaver.id])).rowCount).toBe(0);
    expect((await db().query('SELECT 1 FROM lesson_completions WHERE user_id = $1', [leaver.id])).rowCount).toBe(0);
    expect((await db().query('SELECT 1 FROM certificates WHERE user_id = $1', [leaver.id])).rowCount).toBe(0);
    expect((await db().query('SELECT 1 FROM lesson_completions WHERE user_id = $1', [other.id])).rowCount).toBe(1);
    const owned = (await db().query<{ status: string; instructor_name: string }>('SELECT status, instructor_name FROM courses WHERE id = ANY($1)', [[own, ownDraft]])).rows;
    expect(owned).toEqual([
      { status: 'archived', instructor_name: 'Deleted user' },
      { status: 'archived', instructor_name: 'Deleted user' },
    ]);
    // The public read shows the anonymous review (a null author id, the schema allows it).
    const listed = await p.course.call('GET', `/api/v1/courses/${a}/reviews`);
    expect(listed.status).toBe(200);
    expect(listed.body.items.find((r: { id: string }) => r.id === ra)).toMatchObject({ authorId: null, authorName: 'Deleted user', rating: 5 });

    const state = await snapshot();
    const again = await send({ eventId, type: 'account_deleted', userId: leaver.id, eraseReviews: false });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ status: 'duplicate' });
    // The same event as an erasure, replayed: still nothing (the id decides, not the content).
    expect((await send({ eventId, type: 'account_deleted', userId: leaver.id, eraseReviews: true })).body).toEqual({ status: 'duplicate' });
    expect(await snapshot()).toEqual(state);
  });

  it('erases the reviews with eraseReviews, and the rating aggregates follow exactly', async () => {
    const leaver = await p.user();
    const others = [await p.user(), await p.user()];
    const a = await course(teacher, 'Erase A');
    const b = await course(teacher, 'Erase B');
    await review(leaver, a, 1);
    const hidden = await review(leaver, b, 4);
    await review(others[0]!, a, 4);
    await review(others[1]!, a, 5);
    await review(others[0]!, b, 2);
    expect((await p.course.call('PATCH', `/api/v1/reviews/${hidden}`, { token: admin.token, body: { status: 'hidden' } })).status).toBe(200);

    const res = await send({ eventId: newId(), type: 'account_deleted', userId: leaver.id, eraseReviews: true });
    expect(res.body).toEqual({ status: 'applied' });
    expect((await db().query('SELECT 1 FROM reviews WHERE author_id = $1', [leaver.id])).rowCount).toBe(0);
    expect((await db().query('SELECT 1 FROM reviews WHERE author_id IS NULL AND course_id = ANY($1)', [[a, b]])).rowCount).toBe(0);
    const rows = (await db().query<{ id: string; rating_count: number; rating_sum: number; rating_1: number }>('SELECT id, rating_count, rating_sum, rating_1 FROM courses WHERE id = ANY($1)', [[a, b]])).rows;
    expect(rows.find((r) => r.id === a)).toMatchObject({ rating_count: 2, rating_sum: 9, rating_1: 0 });
    expect(rows.find((r) => r.id === b)).toMatchObject({ rating_count: 1, rating_sum: 2 });
    expect(await counterMismatches(db())).toEqual([]);
    // The course read shows the corrected average at once (the cached answer was made stale).
    expect((await p.course.call('GET', `/api/v1/courses/${a}`)).body.rating).toMatchObject({ count: 2, average: 4.5 });
  });

  it('refuses callers other than auth-service, and bad events, writing nothing', async () => {
    const victim = await p.user();
    const a = await course(teacher, 'Refusals');
    await review(victim, a, 5);
    const state = await snapshot();
    const event = { eventId: newId(), type: 'account_deleted', userId: victim.id, eraseReviews: true };

    expect((await p.course.call('POST', '/internal/v1/account-events', { body: event })).status).toBe(401);
    // The victim themself, an admin, and course-service's own client (a service, but not auth-service).
    expect((await send(event, victim.token)).status).toBe(403);
    const asAdmin = await send(event, admin.token);
    expect(asAdmin.status).toBe(403);
    expect(asAdmin.body.code).toBe('forbidden');
    const clientToken = await p.auth.call('POST', '/api/v1/auth/token', { body: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret } });
    expect(clientToken.status).toBe(200);
    expect((await send(event, clientToken.body.access_token)).status).toBe(403);
    // A service token of another subject, signed by the same key.
    expect((await send(event, await p.serviceToken('client:someone-else'))).status).toBe(403);

    for (const bad of [
      { ...event, eventId: 'not-a-uuid' },
      { ...event, type: 'account_renamed' },
      { ...event, userId: undefined },
      { ...event, eraseReviews: 'yes' },
      { ...event, role: 'admin' },
    ]) {
      const res = await send(bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(res.body.code).toBe('validation_failed');
    }
    expect(await snapshot()).toEqual(state);
    expect((await db().query('SELECT 1 FROM processed_account_events WHERE event_id = $1', [event.eventId])).rowCount).toBe(0);
  });

  it('exports one user\'s data to auth-service only, without other people\'s', async () => {
    const learner = await p.user();
    const other = await p.user();
    const a = await course(teacher, 'Export A');
    const mine = await review(learner, a, 4);
    await review(other, a, 2);
    const lessons = await seedLessons(db(), a);
    await seedLearning(db(), { userId: learner.id, courseId: a, lessonIds: lessons, completed: true, name: learner.displayName });
    await seedLearning(db(), { userId: other.id, courseId: a, lessonIds: [lessons[0]!] });

    const res = await p.course.call('GET', `/internal/v1/user-export?userId=${learner.id}`, { token: await p.serviceToken() });
    expect(res.status).toBe(200);
    expect(res.body.reviews.map((r: { id: string }) => r.id)).toEqual([mine]);
    expect(res.body.enrolments).toHaveLength(1);
    expect(res.body.enrolments[0]).toMatchObject({ courseId: a, courseTitle: 'Export A', status: 'active' });
    expect(res.body.lessonCompletions).toHaveLength(2);
    expect(res.body.certificates).toHaveLength(1);
    expect(res.body.courses).toEqual([]);
    expect(JSON.stringify(res.body)).not.toContain(other.id);

    const teacherExport = await p.course.call('GET', `/internal/v1/user-export?userId=${teacher.id}`, { token: await p.serviceToken() });
    expect(teacherExport.body.courses.map((c: { title: string }) => c.title)).toContain('Export A');
    // Other people's reviews of the teacher's courses are not the teacher's data.
    expect(teacherExport.body.reviews).toEqual([]);

    expect((await p.course.call('GET', `/internal/v1/user-export?userId=${learner.id}`)).status).toBe(401);
    expect((await p.course.call('GET', `/internal/v1/user-export?userId=${learner.id}`, { token: learner.token })).status).toBe(403);
    expect((await p.course.call('GET', `/internal/v1/user-export?userId=${learner.id}`, { token: admin.token })).status).toBe(403);
    expect((await p.course.call('GET', `/internal/v1/user-export?userId=${learner.id}`, { token: await p.serviceToken('client:course-service') })).status).toBe(403);
    expect((await p.course.call('GET', '/internal/v1/user-export?userId=nope', { token: await p.serviceToken() })).status).toBe(400);
  });
});
