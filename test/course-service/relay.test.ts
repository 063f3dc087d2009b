/**
 * Review mails across both services: course-service's outbox relay -> auth-service's notifications ->
 * the delivery worker -> a real SMTP server. Nothing is lost and nothing is sent twice when SMTP or
 * auth-service is down for a while.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, SERVICE_CLIENT, type AuthHarness } from '../helpers/auth_app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { OutboxRepository } from '../../internal/course-service/repository/outbox_repository.js';
import { AuthClient } from '../../internal/course-service/services/auth_client.js';
import { NotificationRelay } from '../../internal/course-service/services/notification_relay.js';
import { admin, principal, publishedCourse, services } from './factories.js';

describe.skipIf(!hasPostgres)('review mails through the outbox relay', () => {
  let auth: AuthHarness;
  let courseDb: TestDatabase;
  let authUrl: string;
  let outbox: OutboxRepository;
  const logger = createLogger('silent', 'course-service');

  const relayTo = (baseUrl: string, clientSecret = SERVICE_CLIENT.secret, backoffMs = { backoffBaseMs: 1, backoffMaxMs: 5 }) =>
    new NotificationRelay(courseDb.db, outbox, new AuthClient({ baseUrl, clientId: SERVICE_CLIENT.id, clientSecret, timeoutMs: 2000 }), logger, {
      pollIntervalMs: 20,
      batchSize: 10,
      ...backoffMs,
      leaseMs: 100,
      publicUrl: 'http://courses.test',
    });

  interface EventRow {
    id: string;
    attempts: number;
    last_error: string | null;
    next_attempt_at: Date;
    delivered_at: Date | null;
    due_in_ms: number;
  }
  /** The outbox rows of one course's events, oldest first. */
  async function eventsOf(courseId: string): Promise<EventRow[]> {
    const { rows } = await courseDb.db.query<EventRow>(
      `SELECT id, attempts, last_error, next_attempt_at, delivered_at, (extract(epoch FROM next_attempt_at - now()) * 1000)::float8 AS due_in_ms
         FROM course_outbox WHERE payload->>'courseId' = $1 ORDER BY created_at, id`,
      [courseId],
    );
    return rows;
  }

  /** Runs the relay until nothing is pending, then waits for the mail worker to empty the outbox. */
  async function drain(relay: NotificationRelay): Promise<void> {
    for (let i = 0; i < 50; i++) {
      await relay.runOnce();
      const { pending } = await outbox.stats();
      if (pending === 0) break;
      await new Promise((r) => setTimeout(r, 120));
    }
    for (let i = 0; i < 200; i++) {
      const { rows } = await auth.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE status = 'queued'");
      if (rows[0]!.n === 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('mail outbox did not drain');
  }

  async function setup(options: { locale?: 'en' | 'ru'; reviewEmails?: boolean } = {}) {
    const teacher = await auth.newUser({ role: 'instructor', locale: options.locale });
    if (options.reviewEmails === false) await auth.database.db.query('UPDATE users SET notify_reviews = false WHERE id = $1', [teacher.id]);
    const reviewer = await auth.newUser();
    // About delivery, not about who may review: enrolling would queue enrolment mails this relay test does not expect.
    const { courses, reviews } = services(courseDb.db, undefined, { requireEnrolment: false });
    const owner = principal({ role: 'instructor', sub: teacher.id, name: teacher.displayName });
    const course = await publishedCourse(courseDb.db, courses, owner, { title: `Relay course ${teacher.id.slice(-6)}` });
    const by = principal({ sub: reviewer.id, name: reviewer.displayName });
    return { teacher, reviewer, course, reviews, by };
  }

  beforeAll(async () => {
    auth = await startAuth();
    await auth.app.listen({ port: 0, host: '127.0.0.1' });
    authUrl = `http://127.0.0.1:${(auth.app.server.address() as AddressInfo).port}`;
    courseDb = await createTestDatabase('course-service');
    outbox = new OutboxRepository(courseDb.db);
  });
  afterAll(async () => {
    await auth?.close();
    await courseDb?.drop();
  });

  it('a review makes exactly one mail to the instructor, with the course title and rating', async () => {
    const { teacher, course, reviews, by } = await setup();
    await reviews.create(by, course.id, { rating: 4, title: 'Solid', body: 'Clear explanations' });
    const relay = relayTo(authUrl);
    await drain(relay);
    const mails = auth.smtp.to(teacher.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(course.title);
    expect(mails[0]!.text).toContain('4/5');
    // Delivering the same event again (say, the answer was lost) makes no second mail.
    await courseDb.db.query('UPDATE course_outbox SET delivered_at = NULL, next_attempt_at = now()');
    await drain(relay);
    expect(auth.smtp.to(teacher.email)).toHaveLength(1);
  });

  it('an admin hiding a review mails its author once, in the author\'s language', async () => {
    const { reviewer, course, reviews, by } = await setup();
    await auth.database.db.query("UPDATE users SET locale = 'ru' WHERE id = $1", [reviewer.id]);
    const review = await reviews.create(by, course.id, { rating: 1, title: 'Spam' });
    await reviews.hide(admin(), review.id);
    await drain(relayTo(authUrl));
    const mails = auth.smtp.to(reviewer.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toMatch(/[а-яё]/i);
  });

  it('SMTP refusing for a while, then accepting, gives each mail exactly once', async () => {
    const { teacher, course, reviews, by } = await setup();
    auth.smtp.refuseNext = 3;
    await reviews.create(by, course.id, { rating: 5 });
    await drain(relayTo(authUrl));
    await auth.smtp.waitFor((m) => m.to.includes(teacher.email));
    expect(auth.smtp.to(teacher.email)).toHaveLength(1);
    const { rows } = await auth.database.db.query<{ attempts: number; status: string }>(
      "SELECT attempts, status FROM notifications WHERE template = 'review_created' AND recipient = $1",
      [teacher.email],
    );
    expect(rows).toEqual([{ attempts: 4, status: 'sent' }]);
  });

  it('auth-service down while reviews are written loses nothing and sends each mail once when it is back', async () => {
    const { teacher, course, reviews } = await setup();
    const writers = await Promise.all([1, 2, 3].map(() => auth.newUser()));
    for (const [i, w] of writers.entries()) await reviews.create(principal({ sub: w.id, name: w.displayName }), course.id, { rating: i + 2 });
    // Nothing listens on this port: every delivery fails and is put off by the backoff (0.75 to 1.5 s).
    const down = relayTo('http://127.0.0.1:1', SERVICE_CLIENT.secret, { backoffBaseMs: 1500, backoffMaxMs: 1500 });
    expect(await down.runOnce()).toBe(0);
    const waiting = await eventsOf(course.id);
    expect(waiting).toHaveLength(3);
    for (const e of waiting) {
      expect(e).toMatchObject({ attempts: 1, delivered_at: null });
      expect(e.last_error).toMatch(/ECONNREFUSED|fetch failed/);
      expect(e.due_in_ms).toBeGreaterThan(300);
      expect(e.due_in_ms).toBeLessThanOrEqual(1500);
    }

    // auth-service answers again, but the events are not due yet: a relay run leaves them alone.
    const up = relayTo(authUrl);
    await up.runOnce();
    expect((await eventsOf(course.id)).map((e) => [e.attempts, e.delivered_at])).toEqual(waiting.map(() => [1, null]));
    expect(auth.smtp.to(teacher.email)).toHaveLength(0);

    // Once due, each is delivered, on its second attempt and not before its retry time, and mailed once.
    await drain(up);
    const delivered = await eventsOf(course.id);
    for (const [i, e] of delivered.entries()) {
      expect(e.attempts).toBe(2);
      expect(e.delivered_at!.getTime()).toBeGreaterThanOrEqual(waiting[i]!.next_attempt_at.getTime());
    }
    const mails = auth.smtp.to(teacher.email);
    expect(mails).toHaveLength(3);
    expect(mails.map((m) => /(\d)\/5/.exec(m.text)?.[1]).sort()).toEqual(['2', '3', '4']);
  });

  it('a relay that dies mid-batch loses nothing: after its lease another relay delivers', async () => {
    const { teacher, course, reviews, by } = await setup();
    await reviews.create(by, course.id, { rating: 3 });
    const claimed = await outbox.claimDue(10, 1000);
    expect(claimed.map((e) => e.id)).toContain((await eventsOf(course.id))[0]!.id);
    // The claimer "dies" here; the event is invisible until the lease ends.
    const [held] = await eventsOf(course.id);
    expect(held!.due_in_ms).toBeGreaterThan(300);
    expect((await outbox.claimDue(10, 100)).length).toBe(0);
    const relay = relayTo(authUrl);
    await relay.runOnce();
    expect(await eventsOf(course.id)).toMatchObject([{ attempts: 1, delivered_at: null }]);
    expect(auth.smtp.to(teacher.email)).toHaveLength(0);

    // After the lease, another relay takes it over and delivers it, once.
    await drain(relay);
    const [done] = await eventsOf(course.id);
    expect(done!.attempts).toBe(2);
    expect(done!.delivered_at!.getTime()).toBeGreaterThanOrEqual(held!.next_attempt_at.getTime());
    expect(auth.smtp.to(teacher.email)).toHaveLength(1);
  });

  it('an instructor who turned review mails off gets none, and the event still completes', async () => {
    const { teacher, course, reviews, by } = await setup({ reviewEmails: false });
    await reviews.create(by, course.id, { rating: 2 });
    await drain(relayTo(authUrl));
    expect(auth.smtp.to(teacher.email)).toHaveLength(0);
    expect((await outbox.stats()).pending).toBe(0);
  });

  it('a wrong client secret keeps the events pending instead of dropping them', async () => {
    const { course, reviews, by } = await setup();
    await reviews.create(by, course.id, { rating: 5 });
    await relayTo(authUrl, 'not-the-secret-0000000000').runOnce();
    const { rows } = await courseDb.db.query<{ last_error: string }>('SELECT last_error FROM course_outbox WHERE delivered_at IS NULL AND failed_at IS NULL');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]!.last_error).toContain('401');
    await new Promise((r) => setTimeout(r, 20));
    await drain(relayTo(authUrl));
  });
});
