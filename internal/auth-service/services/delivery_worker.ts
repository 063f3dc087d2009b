/**
 * Sends the mail outbox. Each poll claims a batch (FOR UPDATE SKIP LOCKED plus a lease, so replicas share
 * the work and a crashed worker's mails come back when its lease ends) and sends the batch in parallel.
 * A mail ends `sent`, or `failed` with the last error after a permanent refusal, a template that cannot
 * render, or `maxAttempts` transient failures with exponential backoff between them.
 *
 * Delivery is at-least-once: a worker that dies between the SMTP 250 and `markSent` leaves a mail that is
 * sent again after the lease. The Message-ID stays `<notification id@domain>` on every attempt so a
 * receiver can drop the copy.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../shared/utils/logging.js';
import type { NotificationRow } from '../models/notification.js';
import type { NotificationRepository } from '../repository/notification_repository.js';
import type { Mailer } from './mail/mailer.js';
import { isMailTemplate, isSafeLink, renderMail, type MailLocale, type RenderedMail } from './mail/templates.js';

export interface DeliveryWorkerOptions {
  pollIntervalMs: number;
  /** Mails claimed per poll; they are sent in parallel, so this also bounds open SMTP connections. */
  batchSize: number;
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Keep it well above the mailer's timeout, or a slow send can be claimed and sent again elsewhere. */
  leaseMs: number;
}

export type DeliveryResult = 'sent' | 'retry' | 'failed';

export interface OutboxMetrics {
  attempts: Counter<'result'>;
}

export interface DeliveryWorkerDeps {
  notifications: NotificationRepository;
  mailer: Mailer;
  logger: Logger;
  options: DeliveryWorkerOptions;
  /** Right-hand side of the Message-ID; a domain the sender controls. */
  messageIdDomain?: string;
  /** From `registerOutboxMetrics`; without it attempts are not counted. */
  metrics?: OutboxMetrics;
}

export const DEFAULT_MESSAGE_ID_DOMAIN = 'course-platform.local';

/**
 * Retry delay after `attempts` failed tries: min(max, base * 2^(attempts-1)), then "equal jitter" (half
 * fixed, half random) so mails that failed together do not all come back in the same instant, while
 * the delay never drops below half the step.
 */
export function backoffDelay(attempts: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

// Authentication refusals are 5xx too, but they are about our credentials, not this mail: failing the
// whole outbox at once over a wrong password would leave an admin to retry every mail by hand.
const AUTH_ERROR_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2']);
const AUTH_RESPONSE_CODES = new Set([530, 534, 535, 538]);

interface SendError {
  message?: unknown;
  code?: unknown;
  responseCode?: unknown;
  permanent?: unknown;
}

/** True when sending the same mail again would get the same refusal (RFC 5321: 5yz, except 503). */
export function isPermanentError(err: unknown): boolean {
  const e = (err ?? {}) as SendError;
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  if ((typeof e.code === 'string' && AUTH_ERROR_CODES.has(e.code)) || (responseCode && AUTH_RESPONSE_CODES.has(responseCode))) return false;
  if (typeof e.permanent === 'boolean') return e.permanent;
  return responseCode !== undefined && responseCode >= 500 && responseCode < 600 && responseCode !== 503;
}

/** The error as kept in `last_error` and logs: nodemailer's message already carries the SMTP reply. */
function describeError(err: unknown): string {
  const e = (err ?? {}) as SendError;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  return `${code}${message}`.replace(/\s+/g, ' ').trim();
}

export class DeliveryWorker {
  private readonly notifications: NotificationRepository;
  private readonly mailer: Mailer;
  private readonly logger: Logger;
  private readonly options: DeliveryWorkerOptions;
  private readonly domain: string;
  private readonly metrics: OutboxMetrics | undefined;

  private running = false;
  /** Bumped by every start(), so a poll left over from before a stop() does not start a second loop. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(deps: DeliveryWorkerDeps) {
    this.notifications = deps.notifications;
    this.mailer = deps.mailer;
    this.logger = deps.logger;
    this.options = deps.options;
    this.domain = deps.messageIdDomain ?? DEFAULT_MESSAGE_ID_DOMAIN;
    this.metrics = deps.metrics;
  }

  /** Polls until stop(). Runs never overlap: the next poll is scheduled when the previous one ends. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.generation += 1;
    this.schedule(0, this.generation);
  }

  /** Stops polling and waits for the batch in flight, so a shutdown does not leave mails half handled. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Claims one batch and handles every mail in it; returns how many were claimed. */
  runOnce(): Promise<number> {
    const run = this.runBatch();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run)).catch(() => undefined);
    return run;
  }

  private schedule(delayMs: number, generation: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll(generation);
    }, delayMs);
    // A pending poll must not keep the process alive on its own.
    this.timer.unref();
  }

  private async poll(generation: number): Promise<void> {
    let claimed = 0;
    try {
      claimed = await this.runOnce();
    } catch (err) {
      // The database is down or similar; try again on the next tick.
      this.logger.error({ err }, 'mail outbox poll failed');
    }
    if (!this.running || generation !== this.generation) return;
    // A full batch means more are probably waiting: go again at once to drain a backlog.
    this.schedule(claimed >= this.options.batchSize ? 0 : this.options.pollIntervalMs, generation);
  }

  private async runBatch(): Promise<number> {
    const rows = await this.notifications.claimDue(this.options.batchSize, this.options.leaseMs);
    await Promise.all(rows.map((row) => this.deliver(row)));
    return rows.length;
  }

  /** Handles one claimed mail; never throws, so one mail cannot stop the rest of its batch. */
  private async deliver(row: NotificationRow): Promise<void> {
    const log = { notificationId: row.id, template: row.template, attempt: row.attempts };
    try {
      // Attempts count claims, so this only happens when workers died holding this mail again and
      // again: a mail that crashes its worker must not be tried forever.
      if (row.attempts > this.options.maxAttempts) {
        await this.fail(row, `gave up after ${row.attempts - 1} attempts that never finished`, log);
        return;
      }

      let mail: RenderedMail;
      try {
        if (!isMailTemplate(row.template)) throw new Error(`unknown mail template "${row.template}"`);
        mail = renderMail(row.template, row.locale as MailLocale, row.data);
      } catch (err) {
        // The data will not change on a retry; the renderer's message names a field, never a value.
        await this.fail(row, `render: ${describeError(err)}`, log);
        return;
      }

      try {
        await this.mailer.send({
          to: row.recipient,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: `<${row.id}@${this.domain}>`,
          headers: this.headers(row),
        });
      } catch (err) {
        await this.sendFailed(row, err, log);
        return;
      }

      await this.notifications.markSent(row.id);
      this.count('sent');
      this.logger.info(log, 'mail sent');
    } catch (err) {
      // Only the outbox update itself can land here. The row keeps its lease and comes back after it,
      // so a mail already handed to SMTP may go out twice (with the same Message-ID).
      this.logger.error({ ...log, err }, 'mail outbox update failed');
    }
  }

  private async sendFailed(row: NotificationRow, err: unknown, log: Record<string, unknown>): Promise<void> {
    const error = describeError(err);
    const responseCode = (err as SendError | null)?.responseCode;
    if (isPermanentError(err)) {
      await this.fail(row, error, { ...log, responseCode });
      return;
    }
    if (row.attempts >= this.options.maxAttempts) {
      await this.fail(row, error, { ...log, responseCode });
      return;
    }
    const delayMs = backoffDelay(row.attempts, this.options.backoffBaseMs, this.options.backoffMaxMs);
    this.count('retry');
    if (await this.notifications.markRetry(row.id, error, delayMs, { attempt: row.attempts })) {
      this.logger.warn({ ...log, responseCode, error, retryInMs: delayMs }, 'mail not sent, will retry');
    } else {
      this.leaseLost(log, error);
    }
  }

  private async fail(row: NotificationRow, error: string, log: Record<string, unknown>): Promise<void> {
    this.count('failed');
    if (await this.notifications.markFailed(row.id, error, { attempt: row.attempts })) {
      this.logger.warn({ ...log, error }, 'mail failed for good');
    } else {
      this.leaseLost(log, error);
    }
  }

  /** The lease ran out mid-send and another worker took the mail over; its outcome stands. */
  private leaseLost(log: Record<string, unknown>, error: string): void {
    this.logger.warn({ ...log, error }, 'mail not sent, and its lease had passed to another worker; leaving it to that one');
  }

  private headers(row: NotificationRow): Record<string, string> {
    // RFC 3834: tells auto-responders (vacation replies) not to answer.
    const headers: Record<string, string> = { 'Auto-Submitted': 'auto-generated' };
    // RFC 2369 + RFC 8058: mail clients offer their own "unsubscribe" and POST to it in one click.
    const safe = (v: unknown): v is string => typeof v === 'string' && isSafeLink(v) && !/[\r\n<>]/.test(v);
    const oneClick = row.data.oneClickUnsubscribe;
    const page = row.data.unsubscribeLink;
    if (safe(oneClick)) {
      headers['List-Unsubscribe'] = `<${oneClick}>`;
      headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
    } else if (safe(page)) {
      headers['List-Unsubscribe'] = `<${page}>`;
    }
    return headers;
  }

  private count(result: DeliveryResult): void {
    this.metrics?.attempts.inc({ result });
  }
}

/**
 * Outbox gauges read from the table at scrape time (so every replica reports the same, shared numbers)
 * and the attempts counter this process's worker increments. Pass the result to DeliveryWorker as `metrics`.
 */
export function registerOutboxMetrics(registry: Registry, repo: Pick<NotificationRepository, 'stats'>): OutboxMetrics {
  type Stats = Awaited<ReturnType<NotificationRepository['stats']>>;
  // One query per scrape: the four gauges are collected together and share the call in flight.
  let pending: Promise<Stats | undefined> | undefined;
  const read = (): Promise<Stats | undefined> => {
    pending ??= repo
      .stats()
      // A database outage must not take /metrics down with it; the gauges keep their last values.
      .catch(() => undefined)
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const gauge = (name: string, help: string, pick: (s: Stats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const stats = await read();
        if (stats) this.set(pick(stats));
      },
    });
  gauge('mail_outbox_queued', 'Mails waiting to be sent', (s) => s.queued);
  gauge('mail_outbox_sent', 'Mails sent (rows kept in the outbox)', (s) => s.sent);
  gauge('mail_outbox_failed', 'Mails that failed for good and wait for an admin', (s) => s.failed);
  gauge('mail_outbox_oldest_queued_seconds', 'Age of the oldest queued mail', (s) => s.oldestQueuedSec);
  const attempts = new Counter({
    name: 'mail_delivery_attempts_total',
    help: 'Delivery attempts by this process, by result (sent, retry, failed)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  return { attempts };
}
