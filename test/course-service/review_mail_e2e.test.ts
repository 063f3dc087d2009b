/**
 * The review-mail story through both services' HTTP APIs with the relay and the mail worker running:
 * a review makes one mail to the instructor; a moderator hiding it makes one mail to its author.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startPlatform, type Platform } from '../helpers/course_app.js';
import { outboxesSettled } from '../helpers/outbox.js';
import { publishedCourseOverHttp } from './factories.js';

describe.skipIf(!hasPostgres)('review mails end to end', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await startPlatform({ course: { overrides: { relay: { enabled: true, pollIntervalMs: 30, backoffBaseMs: 20, backoffMaxMs: 200 } } } });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('mails the instructor once about a new review, and the author once when an admin hides it', async () => {
    const teacher = await p.user({ role: 'instructor' });
    const student = await p.user();
    const admin = await p.user({ role: 'admin' });
    const created = await publishedCourseOverHttp(p.course.call, teacher.token, { title: 'Mail-worthy Databases', summary: 's', description: 'd', category: 'Data', tags: ['sql'], level: 'beginner', language: 'en', durationMinutes: 60 });
    expect((await p.course.call('PUT', `/api/v1/courses/${created.id}/enrolment`, { token: student.token })).status).toBe(201);
    const review = await p.course.call('POST', `/api/v1/courses/${created.id}/reviews`, {
      token: student.token,
      body: { rating: 5, title: 'Loved it', body: 'Clear and practical' },
    });
    expect(review.status).toBe(201);

    const mail = await p.auth.smtp.waitFor((m) => m.to.includes(teacher.email));
    expect(mail.subject).toContain('Mail-worthy Databases');
    expect(mail.text).toContain('5/5');
    expect(mail.text).toContain(student.displayName);
    // Without APP_URL the course link is course-service's address of the course, as before APP_URL.
    expect(mail.text).toContain(`Open the course:\n${p.course.config.publicUrl}/api/v1/courses/${created.slug}\n`);

    const hidden = await p.course.call('PATCH', `/api/v1/reviews/${review.body.id}`, { token: admin.token, body: { status: 'hidden' } });
    expect(hidden.status).toBe(200);
    const hiddenMail = await p.auth.smtp.waitFor((m) => m.to.includes(student.email));
    expect(hiddenMail.text).toContain('Mail-worthy Databases');

    // Every event delivered and every mail sent: no further mail can come, so the counts are final.
    await outboxesSettled({ course: p.course.database.db, auth: p.auth.database.db });
    expect(p.auth.smtp.to(teacher.email)).toHaveLength(1);
    // The student's mails: the enrolment confirmation and the hidden-review notice, one each.
    expect(p.auth.smtp.to(student.email).map((m) => m.subject).sort()).toEqual([
      'You are enrolled in “Mail-worthy Databases”',
      'Your review of “Mail-worthy Databases” was hidden',
    ]);
    const { rows } = await p.auth.database.db.query<{ template: string; n: number }>(
      'SELECT template, count(*)::int AS n FROM notifications WHERE recipient = ANY($1) GROUP BY template ORDER BY template',
      [[teacher.email, student.email]],
    );
    expect(rows).toEqual([{ template: 'enrolment_created', n: 1 }, { template: 'review_created', n: 1 }, { template: 'review_hidden', n: 1 }]);
  });
});

describe.skipIf(!hasPostgres)('review mails end to end, with APP_URL', () => {
  const APP_URL = 'https://app.test.example/learn';
  let p: Platform;
  beforeAll(async () => {
    p = await startPlatform({
      auth: { appUrl: APP_URL, links: { coursePage: '/c/{slug}?ref=mail' } },
      course: { overrides: { relay: { enabled: true, pollIntervalMs: 30, backoffBaseMs: 20, backoffMaxMs: 200 } } },
    });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('links the new-review mail to the front end\'s course page, never to a JSON API address', async () => {
    const teacher = await p.user({ role: 'instructor' });
    const student = await p.user();
    const created = await publishedCourseOverHttp(p.course.call, teacher.token, { title: 'Front-end Linked Course', summary: 's', description: 'd', category: 'Data', tags: ['sql'], level: 'beginner', language: 'en', durationMinutes: 60 });
    expect((await p.course.call('PUT', `/api/v1/courses/${created.id}/enrolment`, { token: student.token })).status).toBe(201);
    const review = await p.course.call('POST', `/api/v1/courses/${created.id}/reviews`, { token: student.token, body: { rating: 4 } });
    expect(review.status).toBe(201);

    const mail = await p.auth.smtp.waitFor((m) => m.to.includes(teacher.email));
    const coursePage = `${APP_URL}/c/${created.slug}?ref=mail`;
    expect(mail.text).toContain(`Open the course:\n${coursePage}\n`);
    expect(mail.html).toContain(`href="${coursePage}"`);
    expect(mail.text).not.toContain('/api/v1/courses');
    expect(mail.html).not.toContain('/api/v1/courses');
  });
});
