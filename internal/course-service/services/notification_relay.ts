/**
 * Delivers course_outbox events to auth-service as `POST /api/v1/notifications`, with the event id as
 * the idempotency key: auth-service or SMTP being down loses nothing (the event stays due and is
 * retried with backoff until accepted), and a retry after a lost answer makes no second mail.
 */
import type { Logger } from '../../shared/utils/logging.js';
import { Poller } from '../../shared/utils/poller.js';
import type { Database } from '../../shared/utils/database.js';
import { Gauge, type Registry } from 'prom-client';
import type { OutboxRepository, OutboxRow } from '../repository/outbox_repository.js';
import type { AnnouncementEvent, CourseCompletedEvent, EnrolmentCreatedEvent, ReviewCreatedEvent, ReviewHiddenEvent } from '../models/events.js';
import type { AuthClient, NotificationRequest } from './auth_client.js';

export interface RelayOptions {
  pollIntervalMs: number;
  batchSize: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** How long a claimed event is held before another relay may take it. */
  leaseMs?: number;
  /** Public base URL of course pages for links in mails. */
  publicUrl: string;
}

/** The notification that an outbox event asks for; undefined for an event type this relay does not know. */
export function toNotification(row: OutboxRow, publicUrl: string): NotificationRequest | undefined {
  if (row.type === 'review_created') {
    const e = row.payload as unknown as ReviewCreatedEvent;
    return {
      userId: e.instructorId,
      template: 'review_created',
      idempotencyKey: row.id,
      data: {
        courseTitle: e.courseTitle,
        rating: e.rating,
        reviewTitle: e.title,
        reviewBody: e.body,
        authorName: e.authorName,
        // The API address is the link while auth-service has no APP_URL; with one, auth-service links
        // to the front end's course page, built from the slug and id.
        courseLink: `${publicUrl.replace(/\/$/, '')}/api/v1/courses/${e.courseSlug}`,
        courseSlug: e.courseSlug,
        courseId: e.courseId,
      },
    };
  }
  const base = publicUrl.replace(/\/$/, '');
  if (row.type === 'enrolment_created') {
    const e = row.payload as unknown as EnrolmentCreatedEvent;
    return {
      userId: e.userId,
      template: 'enrolment_created',
      idempotencyKey: row.id,
      data: { courseTitle: e.courseTitle, courseLink: `${base}/api/v1/courses/${e.courseSlug}`, courseSlug: e.courseSlug, courseId: e.courseId },
    };
  }
  if (row.type === 'course_completed') {
    const e = row.payload as unknown as CourseCompletedEvent;
    return {
      userId: e.userId,
      template: 'course_completed',
      idempotencyKey: row.id,
      data: {
        courseTitle: e.courseTitle,
        // The public verification endpoint; with APP_URL auth-service links the front end's certificate page.
        certificateLink: `${base}/api/v1/certificates/${encodeURIComponent(e.certificateVerificationId)}`,
        certificateVerificationId: e.certificateVerificationId,
        courseId: e.courseId,
      },
    };
  }
  if (row.type === 'course_announcement') {
    const e = row.payload as unknown as AnnouncementEvent;
    return {
      userId: e.userId,
      template: 'course_announcement',
      idempotencyKey: row.id,
      data: {
        courseTitle: e.courseTitle,
        instructorName: e.instructorName,
        subject: e.subject,
        body: e.body,
        courseLink: `${base}/api/v1/courses/${e.courseSlug}`,
        courseSlug: e.courseSlug,
        courseId: e.courseId,
      },
    };
  }
  if (row.type === 'review_hidden') {
    const e = row.payload as unknown as ReviewHiddenEvent;
    return {
      userId: e.authorId,
      template: 'review_hidden',
      idempotencyKey: row.id,
      data: { courseTitle: e.courseTitle, reviewTitle: e.reviewTitle },
    };
  }
  return undefined;
}

export class NotificationRelay {
  private readonly loop: Poller;

  constructor(
    private readonly db: Database,
    private readonly outbox: OutboxRepository,
    private readonly client: AuthClient,
    private readonly logger: Logger,
    private readonly options: RelayOptions,
  ) {
    this.loop = new Poller(() => this.runOnce(), { intervalMs: options.pollIntervalMs, logger, failure: 'outbox relay run failed' });
  }

  private backoff(attempts: number): number {
    const step = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  /** Claims one batch and delivers it; returns how many were accepted. */
  async runOnce(): Promise<number> {
    const rows = await this.outbox.claimDue(this.options.batchSize, this.options.leaseMs ?? 30_000, this.db);
    let accepted = 0;
    for (const row of rows) {
      const request = toNotification(row, this.options.publicUrl);
      if (!request) {
        await this.outbox.markFailed(row.id, `unknown event type ${row.type}`, this.db);
        continue;
      }
      // The event id doubles as the request id, so auth-service's logs name the event they serve.
      const outcome = await this.client.notify(request, row.id);
      if (outcome.kind === 'accepted') {
        await this.outbox.markDelivered(row.id, this.db);
        accepted++;
      } else if (outcome.kind === 'rejected') {
        this.logger.error({ eventId: row.id, type: row.type, reason: outcome.reason }, 'auth-service refused an event; marked failed');
        await this.outbox.markFailed(row.id, outcome.reason, this.db);
      } else {
        const delay = this.backoff(row.attempts);
        this.logger.warn({ eventId: row.id, attempts: row.attempts, retryInMs: delay, reason: outcome.reason }, 'event not delivered; will retry');
        await this.outbox.markRetry(row.id, outcome.reason, delay, this.db);
      }
    }
    return accepted;
  }

  start(): void {
    if (!this.client.configured) {
      this.logger.warn('auth.clientSecret is not set: review mails stay in the outbox until it is');
      return;
    }
    this.loop.start();
  }

  /** Stops polling and waits for the batch in flight (graceful shutdown). */
  stop(): Promise<void> {
    return this.loop.stop();
  }
}

export function registerRelayMetrics(registry: Registry, db: Database, outbox: OutboxRepository): void {
  // The three gauges are collected together: one query per scrape, shared for a second.
  let last = { pending: 0, failed: 0, oldestPendingSec: 0 };
  let reading: { at: number; promise: Promise<typeof last> } | undefined;
  const read = () => {
    if (!reading || Date.now() - reading.at > 1000) {
      reading = { at: Date.now(), promise: outbox.stats(db).then((s) => (last = s), () => last) };
    }
    return reading.promise;
  };
  const gauge = (name: string, help: string, pick: (s: typeof last) => number) =>
    new Gauge({ name, help, registers: [registry], async collect() { this.set(pick(await read())); } });
  gauge('course_outbox_pending', 'Review events not yet delivered to auth-service', (s) => s.pending);
  gauge('course_outbox_failed', 'Review events auth-service refused for good', (s) => s.failed);
  gauge('course_outbox_oldest_pending_seconds', 'Age of the oldest undelivered event', (s) => s.oldestPendingSec);
}
