// The delivery worker against real PostgreSQL and a real SMTP server started here: what arrives, how
// often, and what the outbox says afterwards.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { Registry } from 'prom-client';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotificationRepository } from '../../internal/auth-service/repository/notification_repository.js';
import { UserRepository } from '../../internal/auth-service/repository/user_repository.js';
import {
  DeliveryWorker,
  backoffDelay,
  isPermanentError,
  registerOutboxMetrics,
  type DeliveryWorkerOptions,
  type OutboxMetrics,
} from '../../internal/auth-service/services/delivery_worker.js';
import { SmtpMailer } from '../../internal/auth-service/services/mail/mailer.js';
import type { MailTemplate } from '../../internal/auth-service/services/mail/templates.js';
import { NotificationService } from '../../internal/auth-service/services/notification_service.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { UnsubscribeTokens } from '../../internal/auth-service/services/unsubscribe_tokens.js';

// ---------------------------------------------------------------------------------------------
// A real SMTP server whose answers each test can script.

interface Delivered {
  to: string[];
  mail: ParsedMail;
}

type Refusal = { code: number; message: string } | undefined;

interface TestSmtp {
  url: string;
  /** Mails the server accepted (250), parsed. */
  delivered: Delivered[];
  /** Message-ID of every DATA the server saw, accepted or refused. */
  dataMessageIds: Map<string, string[]>;
  /** Decides the DATA reply; `attempt` counts DATA commands per recipient. */
  onData: (to: string, attempt: number) => Refusal | Promise<Refusal>;
  /** Recipients refused at RCPT TO with this reply. */
  refuseRcpt: Map<string, Refusal>;
  dataStarted: number;
  reset(): void;
  close(): Promise<void>;
}

function smtpError(refusal: NonNullable<Refusal>): Error {
  return Object.assign(new Error(refusal.message), { responseCode: refusal.code });
}

async function startSmtp(): Promise<TestSmtp> {
  const attempts = new Map<string, number>();
  const state: TestSmtp = {
    url: '',
    delivered: [],
    dataMessageIds: new Map(),
    onData: () => undefined,
    refuseRcpt: new Map(),
    dataStarted: 0,
    reset() {
      state.delivered.length = 0;
      state.dataMessageIds.clear();
      state.onData = () => undefined;
      state.refuseRcpt.clear();
      state.dataStarted = 0;
      attempts.clear();
    },
    close: async () => undefined,
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const refusal = state.refuseRcpt.get(address.address);
      callback(refusal ? smtpError(refusal) : null);
    },
    onData(stream, session, callback) {
      state.dataStarted += 1;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        void (async () => {
          const raw = Buffer.concat(chunks);
          const to = session.envelope.rcptTo.map((a) => a.address);
          const key = to.join(',');
          const attempt = (attempts.get(key) ?? 0) + 1;
          attempts.set(key, attempt);
          const mail = await simpleParser(raw);
          state.dataMessageIds.set(key, [...(state.dataMessageIds.get(key) ?? []), mail.messageId ?? '']);
          const refusal = await state.onData(key, attempt);
          if (refusal) return callback(smtpError(refusal));
          state.delivered.push({ to, mail });
          callback();
        })().catch((err: Error) => callback(err));
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  state.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

// ---------------------------------------------------------------------------------------------

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, with jitter in the upper half of each step', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(30, 1000, 60_000, () => 0)).toBe(30_000);
  });
});

describe('isPermanentError', () => {
  it('follows the SMTP reply class, but treats our own credentials and 503 as transient', () => {
    expect(isPermanentError({ responseCode: 550, permanent: true })).toBe(true);
    expect(isPermanentError({ responseCode: 552 })).toBe(true);
    expect(isPermanentError({ responseCode: 451, permanent: false })).toBe(false);
    expect(isPermanentError({ responseCode: 503 })).toBe(false);
    expect(isPermanentError({ code: 'EAUTH', responseCode: 535, permanent: true })).toBe(false);
    expect(isPermanentError({ code: 'ECONNECTION' })).toBe(false);
    expect(isPermanentError(new Error('socket hang up'))).toBe(false);
  });
});

describe.skipIf(!hasPostgres)('DeliveryWorker (PostgreSQL + SMTP)', () => {
  let t: TestDatabase;
  let smtp: TestSmtp;
  let repo: NotificationRepository;
  let service: NotificationService;
  let logLines: string[];
  const workers: DeliveryWorker[] = [];
  const mailers: SmtpMailer[] = [];

  const OPTIONS: DeliveryWorkerOptions = {
    pollIntervalMs: 10,
    batchSize: 10,
    maxAttempts: 5,
    backoffBaseMs: 10,
    backoffMaxMs: 40,
    leaseMs: 10_000,
  };

  function newWorker(options: Partial<DeliveryWorkerOptions> = {}, metrics?: OutboxMetrics): DeliveryWorker {
    const mailer = new SmtpMailer({ smtpUrl: smtp.url, from: 'Course Platform <no-reply@course-platform.test>', timeoutMs: 5000 });
    mailers.push(mailer);
    const logger = createLogger('debug', 'auth-service', { write: (line: string) => void logLines.push(line) });
    const worker = new DeliveryWorker({
      notifications: new NotificationRepository(t.db),
      mailer,
      logger,
      options: { ...OPTIONS, ...options },
      messageIdDomain: 'mail.test.example',
      ...(metrics && { metrics }),
    });
    workers.push(worker);
    return worker;
  }

  async function insertUser(opts: { locale?: 'en' | 'ru'; name?: string } = {}): Promise<{ id: string; email: string }> {
    const id = newId();
    const email = `user-${id}@example.test`;
    await t.db.query(
      `INSERT INTO users (id, email, password_hash, display_name, locale, email_verified_at)
       VALUES ($1, $2, 'x', $3, $4, now())`,
      [id, email, opts.name ?? 'Test User', opts.locale ?? 'en'],
    );
    return { id, email };
  }

  /** A verification mail whose link carries a token that must never reach a log line. */
  async function queueVerify(user: { id: string; email: string }, locale: 'en' | 'ru' = 'en', token = `tok-${newId()}`) {
    const { id } = await t.db.transaction((tx) =>
      service.enqueue(tx, {
        userId: user.id,
        recipient: user.email,
        template: 'verify_email',
        locale,
        data: { displayName: 'Иван', link: `https://auth.test.example/api/v1/auth/pages/verify-email?token=${token}` },
      }),
    );
    return { id, token };
  }

  async function queueRaw(recipient: string, template: string, data: Record<string, unknown>): Promise<string> {
    const id = newId();
    await repo.enqueue({ id, userId: null, recipient, template, locale: 'en', data });
    return id;
  }

  const row = async (id: string) => {
    const r = await repo.findById(id);
    if (!r) throw new Error(`notification ${id} is gone`);
    return r;
  };
  const deliveredTo = (email: string) => smtp.delivered.filter((d) => d.to.includes(email));

  beforeAll(async () => {
    t = await createTestDatabase('auth-service');
    smtp = await startSmtp();
    repo = new NotificationRepository(t.db);
    service = new NotificationService({ db: t.db, notifications: repo, users: new UserRepository(t.db), publicUrl: 'https://auth.test.example', unsubscribe: new UnsubscribeTokens(Buffer.from('test-secret-for-unsubscribe-links-000000')) });
  });

  beforeEach(async () => {
    // One database per file: every test starts from an empty outbox.
    await t.db.query('DELETE FROM notifications');
    smtp.reset();
    logLines = [];
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await Promise.all(mailers.splice(0).map((m) => m.close()));
  });

  afterAll(async () => {
    await smtp?.close();
    await t?.drop();
  });

  it('delivers a queued mail once, in the user\'s locale, then keeps it as sent without its data', async () => {
    const user = await insertUser({ locale: 'ru' });
    const { id, token } = await queueVerify(user, 'ru');
    const worker = newWorker();

    expect(await worker.runOnce()).toBe(1);
    expect(await worker.runOnce()).toBe(0);

    const copies = deliveredTo(user.email);
    expect(copies).toHaveLength(1);
    const mail = copies[0]!.mail;
    expect(mail.subject).toContain('Подтвердите адрес электронной почты');
    expect(mail.text).toContain(token);
    expect(mail.html).toContain('lang="ru"');
    expect(mail.messageId).toBe(`<${id}@mail.test.example>`);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');

    const sent = await row(id);
    expect(sent).toMatchObject({ status: 'sent', attempts: 1, data: {}, last_error: null, locked_until: null });
    expect(sent.sent_at).toBeInstanceOf(Date);

    // Logged with its id and template, never with the data (the link holds a one-time token).
    const logs = logLines.join('\n');
    const sentLine = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'mail sent');
    expect(sentLine).toMatchObject({ level: 'info', notificationId: id, template: 'verify_email' });
    expect(logs).not.toContain(token);
    expect(logs).not.toContain('verify-email');
  });

  it('retries a 451 with backoff and delivers exactly one copy, with the same Message-ID every time', async () => {
    const user = await insertUser();
    const { id, token } = await queueVerify(user);
    const refusals = 3;
    smtp.onData = (_to, attempt) => (attempt <= refusals ? { code: 451, message: 'Try again later' } : undefined);
    newWorker().start();

    await waitFor(async () => (await row(id)).status === 'sent', 10_000, 'the mail to be sent');
    const sent = await row(id);
    expect(sent.attempts).toBe(refusals + 1);
    expect(sent.last_error).toBeNull();
    expect(deliveredTo(user.email)).toHaveLength(1);
    expect(smtp.dataMessageIds.get(user.email)).toEqual(Array(refusals + 1).fill(`<${id}@mail.test.example>`));

    const warnings = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(refusals);
    expect(warnings[0]).toMatchObject({ notificationId: id, template: 'verify_email', responseCode: 451 });
    expect(logLines.join('\n')).not.toContain(token);
  });

  it('fails a mail at once on a permanent 550 and keeps the last error', async () => {
    const user = await insertUser();
    const { id } = await queueVerify(user);
    smtp.refuseRcpt.set(user.email, { code: 550, message: 'No such mailbox' });
    const worker = newWorker();

    expect(await worker.runOnce()).toBe(1);
    const failed = await row(id);
    expect(failed.status).toBe('failed');
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toMatch(/550/);
    expect(failed.last_error).toMatch(/No such mailbox/);
    expect(deliveredTo(user.email)).toHaveLength(0);
  });

  it('fails a mail after maxAttempts transient refusals, and an admin retry then delivers it', async () => {
    const user = await insertUser();
    const { id } = await queueVerify(user);
    smtp.onData = () => ({ code: 451, message: 'Mailbox busy' });
    const worker = newWorker({ maxAttempts: 3 });
    worker.start();

    await waitFor(async () => (await row(id)).status === 'failed', 10_000, 'the mail to fail');
    const failed = await row(id);
    expect(failed.attempts).toBe(3);
    expect(failed.last_error).toMatch(/451 Mailbox busy/);
    expect(smtp.dataMessageIds.get(user.email)).toHaveLength(3);
    expect(deliveredTo(user.email)).toHaveLength(0);

    smtp.onData = () => undefined;
    const view = await service.retry(id);
    expect(view).toMatchObject({ id, status: 'queued', attempts: 0 });

    await waitFor(async () => (await row(id)).status === 'sent', 10_000, 'the retried mail to be sent');
    expect((await row(id)).attempts).toBe(1);
    expect(deliveredTo(user.email)).toHaveLength(1);
  });

  it('fails a mail whose template cannot render, without sending anything', async () => {
    const missingLink = await queueRaw('a@example.test', 'verify_email', { displayName: 'A' });
    const unknown = await queueRaw('b@example.test', 'no_such_template', {});
    const worker = newWorker();

    expect(await worker.runOnce()).toBe(2);
    expect(await row(missingLink)).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await row(missingLink)).last_error).toMatch(/missing required field "link"/);
    expect((await row(unknown)).last_error).toMatch(/unknown mail template/);
    expect(smtp.dataStarted).toBe(0);
  });

  it('shares 40 mails between two concurrent workers, each delivered exactly once', async () => {
    const users = await Promise.all(Array.from({ length: 40 }, () => insertUser()));
    const ids = new Set<string>();
    for (const user of users) ids.add((await queueVerify(user)).id);
    const a = newWorker({ batchSize: 4 });
    const b = newWorker({ batchSize: 4 });
    a.start();
    b.start();

    await waitFor(async () => (await repo.stats()).sent === 40, 20_000, 'all 40 mails to be sent');
    await Promise.all([a.stop(), b.stop()]);

    expect(smtp.delivered).toHaveLength(40);
    const messageIds = smtp.delivered.map((d) => d.mail.messageId);
    expect(new Set(messageIds).size).toBe(40);
    expect(new Set(messageIds)).toEqual(new Set([...ids].map((id) => `<${id}@mail.test.example>`)));
    const { rows } = await t.db.query<{ attempts: number }>('SELECT DISTINCT attempts FROM notifications');
    expect(rows).toEqual([{ attempts: 1 }]);
  });

  it('delivers the mails of a worker that died holding them once their lease ends', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => insertUser()));
    for (const user of users) await queueVerify(user);
    // The "dead" worker: claims and never sends.
    const claimed = await repo.claimDue(10, 200);
    expect(claimed).toHaveLength(5);

    const worker = newWorker();
    expect(await worker.runOnce()).toBe(0);
    await sleep(250);
    expect(await worker.runOnce()).toBe(5);

    expect(smtp.delivered).toHaveLength(5);
    const { rows } = await t.db.query<{ status: string; attempts: number }>('SELECT DISTINCT status, attempts FROM notifications');
    expect(rows).toEqual([{ status: 'sent', attempts: 2 }]);
  });

  it('a worker whose lease ran out does not overwrite the outcome of the worker that took over', async () => {
    const user = await insertUser();
    const { id } = await queueVerify(user);
    // The first try hangs past its lease and is then refused for good; the second goes through.
    smtp.onData = async (_to, attempt) => {
      if (attempt > 1) return undefined;
      await sleep(1000);
      return { code: 550, message: 'Refused late' };
    };
    const slow = newWorker({ leaseMs: 100 });
    const slowRun = slow.runOnce();
    await waitFor(() => smtp.dataStarted > 0, 5000, 'the slow send to start');
    await sleep(150);
    expect(await newWorker().runOnce()).toBe(1);
    expect((await row(id)).status).toBe('sent');

    expect(await slowRun).toBe(1);
    expect(await row(id)).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
    expect(deliveredTo(user.email)).toHaveLength(1);
  });

  it('stop() waits for the batch in flight and then polls no more', async () => {
    const user = await insertUser();
    const { id } = await queueVerify(user);
    smtp.onData = async () => {
      await sleep(300);
      return undefined;
    };
    const worker = newWorker();
    worker.start();
    await waitFor(() => smtp.dataStarted > 0, 5000, 'the send to start');

    await worker.stop();
    expect((await row(id)).status).toBe('sent');

    const later = await queueVerify(await insertUser());
    await sleep(100);
    expect((await row(later.id)).status).toBe('queued');
  });

  it('reports outbox gauges from the table and counts attempts by result', async () => {
    const registry = new Registry();
    const metrics = registerOutboxMetrics(registry, repo);
    const ok = await insertUser();
    const refused = await insertUser();
    const { id: okId } = await queueVerify(ok);
    await queueVerify(refused);
    smtp.refuseRcpt.set(refused.email, { code: 550, message: 'No such mailbox' });
    // Review mail: the settings link also goes into List-Unsubscribe.
    const reviewId = await queueRaw(ok.email, 'review_created' satisfies MailTemplate, {
      displayName: 'Ann',
      courseTitle: 'SQL',
      rating: 5,
      authorName: 'Bob',
      unsubscribeLink: 'https://auth.test.example/api/v1/auth/pages/notifications',
    });
    // Due later, so it stays queued and shows up as the oldest queued mail.
    await t.db.query("UPDATE notifications SET next_attempt_at = now() + interval '1 hour', created_at = now() - interval '90 seconds' WHERE id = $1", [reviewId]);

    const worker = newWorker({}, metrics);
    expect(await worker.runOnce()).toBe(2);
    expect((await row(okId)).status).toBe('sent');

    const value = async (name: string) => (await registry.getSingleMetric(name)!.get()).values;
    expect((await value('mail_outbox_queued'))[0]?.value).toBe(1);
    expect((await value('mail_outbox_sent'))[0]?.value).toBe(1);
    expect((await value('mail_outbox_failed'))[0]?.value).toBe(1);
    expect((await value('mail_outbox_oldest_queued_seconds'))[0]?.value).toBeGreaterThanOrEqual(89);
    const attempts = await value('mail_delivery_attempts_total');
    expect(attempts.find((v) => v.labels.result === 'sent')?.value).toBe(1);
    expect(attempts.find((v) => v.labels.result === 'failed')?.value).toBe(1);
    expect(await registry.metrics()).toContain('mail_outbox_sent 1');

    await t.db.query('UPDATE notifications SET next_attempt_at = now() WHERE id = $1', [reviewId]);
    expect(await worker.runOnce()).toBe(1);
    const review = deliveredTo(ok.email).find((d) => d.mail.messageId === `<${reviewId}@mail.test.example>`);
    // Unfolded: a long header is wrapped onto continuation lines (RFC 5322 2.2.3).
    const line = review?.mail.headerLines.find((h) => h.key === 'list-unsubscribe')?.line.replace(/\r\n\s+/g, ' ');
    expect(line).toBe('List-Unsubscribe: <https://auth.test.example/api/v1/auth/pages/notifications>');
  });
});
