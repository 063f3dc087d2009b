/**
 * Course announcements through both services: the instructor posts, the fan-out queues one event per
 * active learner, the relay and auth-service mail each once in their language, honouring the learner's
 * announcement preference; the unsubscribe link turns announcements (only) off. Plus who may post, bad
 * input, the daily limit, and two fan-out workers racing over 1,200 learners.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startPlatform, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { outboxesSettled } from '../helpers/outbox.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { AnnouncementFanout } from '../../internal/course-service/services/announcement_service.js';
import { AnnouncementRepository } from '../../internal/course-service/repository/announcement_repository.js';
import { OutboxRepository } from '../../internal/course-service/repository/outbox_repository.js';

const COURSE = {
  summary: 's',
  description: 'd',
  category: 'Data',
  tags: ['sql'],
  level: 'beginner',
  language: 'en',
  durationMinutes: 60,
};

describe.skipIf(!hasPostgres)('course announcements', () => {
  let p: Platform;
  let teacher: PlatformUser;
  beforeAll(async () => {
    p = await startPlatform({ course: { overrides: { relay: { enabled: true, pollIntervalMs: 30, backoffBaseMs: 20, backoffMaxMs: 200 } } } });
    teacher = await p.user({ role: 'instructor' });
  });
  afterAll(async () => {
    await p?.close();
  });

  async function publishedCourse(title: string, owner = teacher): Promise<{ id: string; slug: string }> {
    const created = await p.course.call('POST', '/api/v1/courses', { token: owner.token, body: { ...COURSE, title } });
    expect(created.status).toBe(201);
    await p.course.database.db.query("UPDATE courses SET status = 'published', published_at = now() WHERE id = $1", [created.body.id]);
    return { id: created.body.id, slug: created.body.slug };
  }

  /** An enrolment row as the enrolment code writes it (status active, or left with its time). */
  async function enrol(courseId: string, userId: string, status: 'active' | 'left' = 'active'): Promise<void> {
    await p.course.database.db.query(
      `INSERT INTO enrolments (id, course_id, user_id, status, left_at) VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'left' THEN now() END)`,
      [newId(), courseId, userId, status],
    );
  }

  it('mails every active learner once, in their language, skips who left or opted out, and unsubscribes announcements only', async () => {
    const course = await publishedCourse('Announced Databases');
    const [ada, boris, carl, dora] = await Promise.all([p.user(), p.user(), p.user(), p.user()]);
    await enrol(course.id, ada!.id);
    await enrol(course.id, boris!.id);
    await enrol(course.id, carl!.id);
    await enrol(course.id, dora!.id, 'left');
    const ru = await p.auth.call('PATCH', '/api/v1/users/me', { token: boris!.token, body: { locale: 'ru' } });
    expect(ru.status).toBe(200);
    const off = await p.auth.call('PATCH', '/api/v1/users/me', { token: carl!.token, body: { preferences: { announcementEmails: false } } });
    expect(off.status).toBe(200);
    expect(off.body.preferences).toEqual({ reviewEmails: true, announcementEmails: false });

    const posted = await p.course.call('POST', `/api/v1/courses/${course.id}/announcements`, {
      token: teacher.token,
      body: { subject: 'Live Q&A on Friday', body: 'Join the session at 18:00 UTC; bring your questions about indexes.' },
    });
    expect(posted.status).toBe(202);
    expect(posted.body).toMatchObject({ courseId: course.id, subject: 'Live Q&A on Friday', status: 'sending', recipients: 0, sentAt: null });

    const mail = await p.auth.smtp.waitFor((m) => m.to.includes(ada!.email));
    expect(mail.subject).toBe('“Announced Databases”: Live Q&A on Friday');
    expect(mail.text).toContain('bring your questions about indexes');
    expect(mail.text).toContain(teacher.displayName);
    const ruMail = await p.auth.smtp.waitFor((m) => m.to.includes(boris!.email));
    expect(ruMail.subject).toBe('«Announced Databases»: Live Q&A on Friday');
    expect(ruMail.text).toContain('Отключить объявления курсов');

    await outboxesSettled({ course: p.course.database.db, auth: p.auth.database.db });
    expect(p.auth.smtp.to(ada!.email)).toHaveLength(1);
    expect(p.auth.smtp.to(boris!.email)).toHaveLength(1);
    expect(p.auth.smtp.to(carl!.email)).toHaveLength(0);
    expect(p.auth.smtp.to(dora!.email)).toHaveLength(0);
    expect(p.auth.smtp.to(teacher.email)).toHaveLength(0);

    const listed = await p.course.call('GET', `/api/v1/courses/${course.id}/announcements`, { token: teacher.token });
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).toMatchObject({ id: posted.body.id, status: 'sent', recipients: 3 });

    // The mail's own unsubscribe link turns announcements off, and review mails stay on.
    const link = /\/api\/v1\/auth\/pages\/unsubscribe\?token=([^\s"&]+)/.exec(mail.text)?.[1];
    expect(link).toBeDefined();
    const unsub = await p.auth.call('POST', `/api/v1/users/unsubscribe?token=${link!}`, { body: {} });
    expect(unsub.status).toBe(200);
    expect(unsub.body.message).toContain('course announcements');
    const profile = await p.auth.call('GET', '/api/v1/users/me', { token: ada!.token });
    expect(profile.body.preferences).toEqual({ reviewEmails: true, announcementEmails: false });
    // A tampered topic is not a valid token.
    const tampered = await p.auth.call('POST', `/api/v1/users/unsubscribe?token=${link!.replace('.announcements.', '.reviews.')}`, { body: {} });
    expect(tampered.status).toBe(400);
  });

  it('lets only the course instructor post; others are refused and nothing is written', async () => {
    const course = await publishedCourse('Guarded Announcements');
    const [student, otherTeacher, admin] = await Promise.all([p.user(), p.user({ role: 'instructor' }), p.user({ role: 'admin' })]);
    const body = { subject: 'Hello', body: 'World' };
    const url = `/api/v1/courses/${course.id}/announcements`;
    expect((await p.course.call('POST', url, { body })).status).toBe(401);
    for (const who of [student, otherTeacher, admin]) {
      const refused = await p.course.call('POST', url, { token: who.token, body });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('not_course_owner');
    }
    // Reading the list: the owner and admins; a student or another instructor is refused.
    expect((await p.course.call('GET', url, { token: admin.token })).status).toBe(200);
    expect((await p.course.call('GET', url, { token: student.token })).status).toBe(403);
    expect((await p.course.call('GET', url, { token: otherTeacher.token })).status).toBe(403);
    expect((await p.course.call('GET', url)).status).toBe(401);

    // A draft: 404 to others (as the course itself), 409 to its owner.
    const draft = await p.course.call('POST', '/api/v1/courses', { token: teacher.token, body: { ...COURSE, title: 'Draft Course' } });
    const draftUrl = `/api/v1/courses/${draft.body.id}/announcements`;
    expect((await p.course.call('POST', draftUrl, { token: student.token, body })).status).toBe(404);
    const notPublished = await p.course.call('POST', draftUrl, { token: teacher.token, body });
    expect(notPublished.status).toBe(409);
    expect(notPublished.body.code).toBe('course_not_published');

    // Bad input: 4xx problem+json.
    for (const bad of [{}, { subject: '', body: 'x' }, { subject: '   ', body: 'x' }, { subject: 'x', body: 'y'.repeat(10_001) }, { subject: 'x', body: 'y', extra: 1 }]) {
      const refused = await p.course.call('POST', url, { token: teacher.token, body: bad });
      expect(refused.status).toBe(400);
    }
    expect((await p.course.call('POST', `/api/v1/courses/${newId()}/announcements`, { token: teacher.token, body })).status).toBe(404);
    expect((await p.course.call('POST', '/api/v1/courses/not-a-uuid/announcements', { token: teacher.token, body })).status).toBe(400);
    const { rows } = await p.course.database.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM course_announcements WHERE course_id = ANY($1)',
      [[course.id, draft.body.id]],
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('allows five announcements per course a day; the sixth is 429', async () => {
    const course = await publishedCourse('Chatty Course');
    const url = `/api/v1/courses/${course.id}/announcements`;
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => p.course.call('POST', url, { token: teacher.token, body: { subject: `News ${i}`, body: 'b' } })),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(3);
    expect(answers.find((a) => a.status === 429)!.headers['retry-after']).toBeDefined();
  });

  it('two fan-out workers racing over 1,200 learners queue each learner exactly once', async () => {
    const course = await publishedCourse('Crowded Course');
    const db = p.course.database.db;
    await db.query(
      `INSERT INTO enrolments (id, course_id, user_id, status, left_at)
       SELECT gen_random_uuid(), $1, gen_random_uuid(), CASE WHEN i % 10 = 0 THEN 'left' ELSE 'active' END, CASE WHEN i % 10 = 0 THEN now() END
         FROM generate_series(1, 1200) AS i`,
      [course.id],
    );
    // The platform's own workers are stopped, so only the two below run.
    await p.course.fanout.stop();
    await p.course.relay.stop();
    const posted = await p.course.call('POST', `/api/v1/courses/${course.id}/announcements`, { token: teacher.token, body: { subject: 'All', body: 'Everyone' } });
    expect(posted.status).toBe(202);
    const logger = createLogger('silent', 'test');
    const make = () => new AnnouncementFanout(db, new AnnouncementRepository(db), new OutboxRepository(db), logger, { batchSize: 100, pollIntervalMs: 10 });
    const drain = async (worker: AnnouncementFanout) => {
      while ((await worker.runOnce()) > 0);
    };
    await Promise.all([drain(make()), drain(make())]);
    const { rows } = await db.query<{ users: number; events: number }>(
      `SELECT count(DISTINCT payload->>'userId')::int AS users, count(*)::int AS events
         FROM course_outbox WHERE type = 'course_announcement' AND payload->>'announcementId' = $1`,
      [posted.body.id],
    );
    expect(rows[0]).toEqual({ users: 1080, events: 1080 });
    const state = await db.query<{ status: string; recipients: number }>('SELECT status, recipients FROM course_announcements WHERE id = $1', [posted.body.id]);
    expect(state.rows[0]).toEqual({ status: 'sent', recipients: 1080 });
  });
});
