// NotificationService against real PostgreSQL; mails that should arrive go through a real SMTP server.
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotificationRepository } from '../../internal/auth-service/repository/notification_repository.js';
import { UserRepository } from '../../internal/auth-service/repository/user_repository.js';
import { DeliveryWorker } from '../../internal/auth-service/services/delivery_worker.js';
import { SmtpMailer } from '../../internal/auth-service/services/mail/mailer.js';
import type { MailTemplate } from '../../internal/auth-service/services/mail/templates.js';
import { NotificationService } from '../../internal/auth-service/services/notification_service.js';
import { HttpError } from '../../internal/shared/utils/errors.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { TestSmtp } from '../helpers/smtp.js';
import { UnsubscribeTokens } from '../../internal/auth-service/services/unsubscribe_tokens.js';
import { AppLinks } from '../../internal/auth-service/services/app_links.js';

const PUBLIC_URL = 'https://auth.test.example/';
const UNSUBSCRIBE = new UnsubscribeTokens(Buffer.from('test-secret-for-unsubscribe-links-000000'));
const unsubscribeLink = (userId: string) => `https://auth.test.example/api/v1/auth/pages/unsubscribe?token=${UNSUBSCRIBE.make(userId)}`;

/** Runs `fn` and returns the HttpError it throws. */
async function httpError(fn: () => Promise<unknown>): Promise<HttpError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('expected an HttpError');
}

const reviewData = (over: Record<string, unknown> = {}) => ({
  courseTitle: 'Relational databases',
  rating: 4,
  reviewTitle: 'Solid course',
  reviewBody: 'Clear explanations.',
  authorName: 'Bob',
  courseLink: 'https://courses.test.example/courses/1',
  ...over,
});

describe.skipIf(!hasPostgres)('NotificationService (PostgreSQL)', () => {
  let t: TestDatabase;
  let smtp: TestSmtp;
  let repo: NotificationRepository;
  let service: NotificationService;
  let mailer: SmtpMailer;
  let worker: DeliveryWorker;

  async function insertUser(opts: { locale?: 'en' | 'ru'; notifyReviews?: boolean; disabled?: boolean; name?: string } = {}) {
    const id = newId();
    const email = `user-${id}@example.test`;
    await t.db.query(
      `INSERT INTO users (id, email, password_hash, display_name, locale, notify_reviews, disabled_at, role)
       VALUES ($1, $2, 'x', $3, $4, $5, CASE WHEN $6::boolean THEN now() END, 'instructor')`,
      [id, email, opts.name ?? 'Ann Teacher', opts.locale ?? 'en', opts.notifyReviews ?? true, opts.disabled ?? false],
    );
    return { id, email };
  }

  const count = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM notifications')).rows[0]!.n;

  beforeAll(async () => {
    t = await createTestDatabase('auth-service');
    smtp = await new TestSmtp().start();
    repo = new NotificationRepository(t.db);
    service = new NotificationService({ db: t.db, notifications: repo, users: new UserRepository(t.db), publicUrl: PUBLIC_URL, unsubscribe: UNSUBSCRIBE });
    mailer = new SmtpMailer({ smtpUrl: smtp.url, from: 'Course Platform <no-reply@course-platform.test>', timeoutMs: 5000 });
    worker = new DeliveryWorker({
      notifications: repo,
      mailer,
      logger: pino({ level: 'silent' }),
      options: { pollIntervalMs: 10, batchSize: 10, maxAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 40, leaseMs: 10_000 },
    });
  });

  beforeEach(async () => {
    await t.db.query('DELETE FROM notifications');
    smtp.mails.length = 0;
  });

  afterEach(async () => {
    await worker.stop();
  });

  afterAll(async () => {
    await mailer?.close();
    await smtp?.stop();
    await t?.drop();
  });

  describe('enqueue', () => {
    it('writes the mail in the caller\'s transaction: it commits and rolls back with the change', async () => {
      const user = await insertUser();
      const mail = { userId: user.id, recipient: user.email, template: 'password_changed' as const, locale: 'en' as const, data: { displayName: 'Ann', changedAt: new Date().toISOString() } };

      await expect(
        t.db.transaction(async (tx) => {
          await service.enqueue(tx, mail);
          throw new Error('the change failed');
        }),
      ).rejects.toThrow('the change failed');
      expect(await count()).toBe(0);

      const { id, created } = await t.db.transaction((tx) => service.enqueue(tx, mail));
      expect(created).toBe(true);
      expect(await repo.findById(id)).toMatchObject({ status: 'queued', template: 'password_changed', recipient: user.email, attempts: 0 });
    });

    it('is idempotent by key and refuses unknown templates', async () => {
      const user = await insertUser();
      const mail = { userId: user.id, recipient: user.email, template: 'password_changed' as const, locale: 'en' as const, data: {}, idempotencyKey: `k-${newId()}` };
      const first = await service.enqueue(t.db, mail);
      expect(await service.enqueue(t.db, mail)).toEqual({ id: first.id, created: false });
      expect(await count()).toBe(1);

      const err = await httpError(() => service.enqueue(t.db, { ...mail, template: 'nope' as MailTemplate, idempotencyKey: undefined }));
      expect(err).toMatchObject({ status: 400, code: 'invalid_template' });
      expect(await count()).toBe(1);
    });
  });

  describe('notifyUser', () => {
    it('queues one review mail per idempotency key, in the user\'s locale, and it arrives once', async () => {
      const user = await insertUser({ locale: 'ru', name: 'Анна' });
      const input = { userId: user.id, template: 'review_created' as const, data: reviewData({ displayName: 'Mallory' }), idempotencyKey: 'review-1' };

      const first = await service.notifyUser(input);
      expect(first.status).toBe('queued');
      expect(first.id).toEqual(expect.any(String));
      expect(await service.notifyUser(input)).toEqual({ id: first.id, status: 'duplicate' });

      const stored = await repo.findById(first.id!);
      // Recipient, locale and name come from the user row, not from the caller.
      expect(stored).toMatchObject({ user_id: user.id, recipient: user.email, locale: 'ru' });
      expect(stored?.data).toMatchObject({ displayName: 'Анна', unsubscribeLink: unsubscribeLink(user.id), courseTitle: 'Relational databases' });
      expect(UNSUBSCRIBE.verify(String(stored?.data.unsubscribeLink).split('token=')[1]!)).toEqual({ userId: user.id, topic: 'reviews' });

      expect(await worker.runOnce()).toBe(1);
      // A late repeat, after the mail went out, is still the same mail.
      expect(await service.notifyUser(input)).toEqual({ id: first.id, status: 'duplicate' });
      expect(await worker.runOnce()).toBe(0);

      expect(smtp.mails).toHaveLength(1);
      const mail = smtp.mails[0]!;
      expect(mail.subject).toBe('Новый отзыв о вашем курсе «Relational databases» (4/5)');
      expect(mail.text).toContain('Анна');
      expect(mail.text).not.toContain('Mallory');
      expect(mail.text).toContain(unsubscribeLink(user.id));
      // RFC 8058: mail clients may unsubscribe in one click with a POST to this URL.
      expect(mail.raw.replace(/\r?\n[ \t]+/g, ' ')).toContain(
        `List-Unsubscribe: <https://auth.test.example/api/v1/users/unsubscribe?token=${UNSUBSCRIBE.make(user.id)}>`,
      );
      expect(mail.raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      expect(await count()).toBe(1);
    });

    it('with APP_URL links the review mail to the front end\'s course page instead of the caller\'s API address', async () => {
      const user = await insertUser();
      const withApp = new NotificationService({
        db: t.db,
        notifications: repo,
        users: new UserRepository(t.db),
        publicUrl: PUBLIC_URL,
        unsubscribe: UNSUBSCRIBE,
        appLinks: new AppLinks('https://app.test.example', { coursePage: '/courses/{slug}', certificatePage: '/certificates/{verificationId}', loginPage: '/login' }),
      });
      const apiLink = 'https://courses.test.example/api/v1/courses/relational-databases';
      const data = reviewData({ courseLink: apiLink, courseSlug: 'relational-databases', courseId: newId() });
      const queued = await withApp.notifyUser({ userId: user.id, template: 'review_created', data, idempotencyKey: 'app-url-1' });
      expect((await repo.findById(queued.id!))?.data.courseLink).toBe('https://app.test.example/courses/relational-databases');
      // Without a slug (an older caller) the caller's link stays; without APP_URL it always does.
      const noSlug = await withApp.notifyUser({ userId: user.id, template: 'review_created', data: reviewData({ courseLink: apiLink }), idempotencyKey: 'app-url-2' });
      expect((await repo.findById(noSlug.id!))?.data.courseLink).toBe(apiLink);
      const unset = await service.notifyUser({ userId: user.id, template: 'review_created', data, idempotencyKey: 'app-url-3' });
      expect((await repo.findById(unset.id!))?.data.courseLink).toBe(apiLink);

      expect(await worker.runOnce()).toBe(3);
      const toFrontEnd = smtp.mails.filter((m) => m.text.includes('Open the course:\nhttps://app.test.example/courses/relational-databases\n'));
      expect(toFrontEnd).toHaveLength(1);
      expect(toFrontEnd[0]!.text).not.toContain('/api/v1/courses');
      expect(toFrontEnd[0]!.html).not.toContain('/api/v1/courses');
    });

    it('scopes the key to the user: the same key for two users is two mails', async () => {
      const a = await insertUser();
      const b = await insertUser();
      const ra = await service.notifyUser({ userId: a.id, template: 'review_hidden', data: { courseTitle: 'SQL' }, idempotencyKey: 'same' });
      const rb = await service.notifyUser({ userId: b.id, template: 'review_hidden', data: { courseTitle: 'SQL' }, idempotencyKey: 'same' });
      expect([ra.status, rb.status]).toEqual(['queued', 'queued']);
      expect(ra.id).not.toBe(rb.id);
    });

    it('suppresses review mails for a user who turned them off, recording nothing', async () => {
      const user = await insertUser({ notifyReviews: false });
      for (const template of ['review_created', 'review_hidden'] as const) {
        const data = template === 'review_created' ? reviewData() : { courseTitle: 'SQL' };
        expect(await service.notifyUser({ userId: user.id, template, data, idempotencyKey: `k-${template}` })).toEqual({ id: null, status: 'suppressed' });
      }
      expect(await count()).toBe(0);
      expect(await worker.runOnce()).toBe(0);
      expect(smtp.mails).toHaveLength(0);
    });

    it('suppresses mail to a disabled user', async () => {
      const user = await insertUser({ disabled: true });
      expect(await service.notifyUser({ userId: user.id, template: 'review_hidden', data: { courseTitle: 'SQL' }, idempotencyKey: 'k' })).toEqual({
        id: null,
        status: 'suppressed',
      });
      expect(await count()).toBe(0);
    });

    it('refuses account templates, which carry tokens only auth-service makes', async () => {
      const user = await insertUser();
      for (const template of ['verify_email', 'password_reset', 'account_exists', 'password_changed', 'bogus'] as MailTemplate[]) {
        const err = await httpError(() => service.notifyUser({ userId: user.id, template, data: { link: 'https://evil.example' }, idempotencyKey: `k-${template}` }));
        expect(err).toMatchObject({ status: 400, code: 'template_not_allowed' });
      }
      expect(await count()).toBe(0);
    });

    it('answers 404 for an unknown user and 400 for data the template cannot render', async () => {
      for (const userId of [newId(), 'not-a-uuid']) {
        const err = await httpError(() => service.notifyUser({ userId, template: 'review_hidden', data: { courseTitle: 'SQL' }, idempotencyKey: 'k' }));
        expect(err).toMatchObject({ status: 404, code: 'user_not_found' });
      }
      const user = await insertUser();
      const err = await httpError(() => service.notifyUser({ userId: user.id, template: 'review_created', data: reviewData({ rating: 9 }), idempotencyKey: 'k' }));
      expect(err).toMatchObject({ status: 400, code: 'invalid_notification_data' });
      expect(err.detail).toMatch(/rating/);
      expect(await count()).toBe(0);
    });
  });

  describe('list and retry', () => {
    async function queueMany(n: number): Promise<string[]> {
      const user = await insertUser();
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        ids.push((await service.enqueue(t.db, { userId: user.id, recipient: user.email, template: 'review_hidden', locale: 'en', data: { displayName: 'Ann', courseTitle: `C${i}` } })).id);
      }
      return ids;
    }

    it('pages newest first with an opaque cursor and filters by status', async () => {
      const ids = await queueMany(5);
      await repo.markFailed(ids[1]!, 'boom');
      await repo.markFailed(ids[3]!, 'boom');

      const first = await service.list({ limit: 2 });
      expect(first.items.map((i) => i.id)).toEqual([ids[4], ids[3]]);
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = await service.list({ limit: 2, cursor: first.nextCursor! });
      expect(second.items.map((i) => i.id)).toEqual([ids[2], ids[1]]);
      const third = await service.list({ limit: 2, cursor: second.nextCursor! });
      expect(third.items.map((i) => i.id)).toEqual([ids[0]]);
      expect(third.nextCursor).toBeNull();

      const failed = await service.list({ status: 'failed', limit: 10 });
      expect(failed.items.map((i) => i.id)).toEqual([ids[3], ids[1]]);
      expect(failed.items[0]).toMatchObject({ status: 'failed', lastError: 'boom', template: 'review_hidden' });
      // Views never carry the data (it may hold one-time links).
      expect(failed.items[0]).not.toHaveProperty('data');
      expect(failed.nextCursor).toBeNull();

      for (const cursor of ['%%%', 'bm90IGpzb24', Buffer.from(JSON.stringify({ k: 'users', v: { id: ids[0] } })).toString('base64url')]) {
        expect(await httpError(() => service.list({ limit: 2, cursor }))).toMatchObject({ status: 400, code: 'invalid_cursor' });
      }
    });

    it('retries only failed mail', async () => {
      const [queued, failed] = await queueMany(2);
      await t.db.query('UPDATE notifications SET attempts = 3 WHERE id = $1', [failed]);
      await repo.markFailed(failed!, '451 busy');

      expect(await httpError(() => service.retry(newId()))).toMatchObject({ status: 404, code: 'notification_not_found' });
      expect(await httpError(() => service.retry('nope'))).toMatchObject({ status: 404, code: 'notification_not_found' });
      expect(await httpError(() => service.retry(queued!))).toMatchObject({ status: 409, code: 'notification_not_failed' });

      const view = await service.retry(failed!);
      expect(view).toMatchObject({ id: failed, status: 'queued', attempts: 0 });
      expect(await httpError(() => service.retry(failed!))).toMatchObject({ status: 409, code: 'notification_not_failed' });

      expect(await worker.runOnce()).toBe(2);
      expect(smtp.mails).toHaveLength(2);
      expect((await repo.findById(failed!))?.status).toBe('sent');
    });
  });
});
