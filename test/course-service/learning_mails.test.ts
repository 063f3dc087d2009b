/**
 * The learning events course-service writes (enrolment, completion) become the right mail requests, and
 * auth-service renders them: the enrolment confirmation with the course link, the completion mail with
 * the certificate's public link (the front end's certificate page with APP_URL). Both always go out (a
 * receipt of the learner's own action); only announcements have an opt-out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toNotification } from '../../internal/course-service/services/notification_relay.js';
import type { OutboxRow } from '../../internal/course-service/repository/outbox_repository.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { hasPostgres } from '../helpers/services.js';
import { startPlatform, type Platform } from '../helpers/course_app.js';
import { SERVICE_CLIENT } from '../helpers/auth_app.js';

function row(type: string, payload: Record<string, unknown>): OutboxRow {
  return { id: newId(), type, payload, attempts: 1, created_at: new Date() };
}

describe('learning events as mail requests', () => {
  it('maps enrolment_created and course_completed to their templates, keyed by the event id', () => {
    const courseId = newId();
    const enrolled = row('enrolment_created', { eventId: 'e', courseId, courseTitle: 'SQL', courseSlug: 'sql', userId: 'u1' });
    expect(toNotification(enrolled, 'https://courses.example/')).toEqual({
      userId: 'u1',
      template: 'enrolment_created',
      idempotencyKey: enrolled.id,
      data: { courseTitle: 'SQL', courseLink: 'https://courses.example/api/v1/courses/sql', courseSlug: 'sql', courseId },
    });
    const done = row('course_completed', { courseId, courseTitle: 'SQL', courseSlug: 'sql', userId: 'u1', certificateVerificationId: 'a/b' });
    expect(toNotification(done, 'https://courses.example')).toMatchObject({
      userId: 'u1',
      template: 'course_completed',
      idempotencyKey: done.id,
      data: { certificateLink: 'https://courses.example/api/v1/certificates/a%2Fb', certificateVerificationId: 'a/b' },
    });
    expect(toNotification(row('something_else', {}), 'https://courses.example')).toBeUndefined();
  });
});

describe.skipIf(!hasPostgres)('learning mails through auth-service', () => {
  const APP_URL = 'https://app.test.example';
  let p: Platform;
  beforeAll(async () => {
    p = await startPlatform({ auth: { appUrl: APP_URL } });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('sends the enrolment and completion mails even to a learner who turned every optional mail off', async () => {
    const learner = await p.user();
    const off = await p.auth.call('PATCH', '/api/v1/users/me', {
      token: learner.token,
      body: { preferences: { reviewEmails: false, announcementEmails: false } },
    });
    expect(off.status).toBe(200);
    const granted = await p.auth.call('POST', '/api/v1/auth/token', {
      form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret },
    });
    const service = granted.body.access_token as string;
    const courseId = newId();
    for (const event of [
      row('enrolment_created', { courseId, courseTitle: 'Practical SQL', courseSlug: 'practical-sql', userId: learner.id }),
      row('course_completed', { courseId, courseTitle: 'Practical SQL', courseSlug: 'practical-sql', userId: learner.id, certificateVerificationId: 'Zx9' }),
    ]) {
      const asked = await p.auth.call('POST', '/api/v1/notifications', { token: service, body: toNotification(event, 'https://courses.example')! });
      expect(asked.status).toBe(202);
      expect(asked.body.status).toBe('queued');
    }
    const welcome = await p.auth.smtp.waitFor((m) => m.to.includes(learner.email) && m.subject.includes('enrolled'));
    expect(welcome.subject).toBe('You are enrolled in “Practical SQL”');
    expect(welcome.text).toContain(`${APP_URL}/courses/practical-sql`);
    const completed = await p.auth.smtp.waitFor((m) => m.to.includes(learner.email) && m.subject.includes('completed'));
    expect(completed.text).toContain(`${APP_URL}/certificates/Zx9`);
    expect(completed.text).not.toContain('unsubscribe');
  });
});
