/**
 * The mail outbox seen from the rest of auth-service: queue a mail in the caller's transaction, queue a
 * review mail for another service (`POST /api/v1/notifications`), and let admins list and retry mail.
 * Sending is the delivery worker's job (delivery_worker.ts).
 */
import type { Database, Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { decodeCursor, keysetPage } from '../../shared/utils/cursor.js';
import { isUuid, newId } from '../../shared/utils/ids.js';
import { NOTIFICATION_STATUSES, toNotificationView, type NotificationStatus, type NotificationView } from '../models/notification.js';
import type { NotificationRepository } from '../repository/notification_repository.js';
import type { UserRepository } from '../repository/user_repository.js';
import type { UserRow } from '../models/user.js';
import { API_TEMPLATES } from '../models/notification_schemas.js';
import type { UnsubscribeTokens, UnsubscribeTopic } from './unsubscribe_tokens.js';
import type { AppLinks } from './app_links.js';
import { isMailTemplate, renderMail, type MailLocale, type MailTemplate } from './mail/templates.js';

export interface NotificationServiceDeps {
  db: Database;
  notifications: NotificationRepository;
  users: UserRepository;
  /** Base URL of auth-service as users see it; the unsubscribe links in review mails are built on it. */
  publicUrl: string;
  unsubscribe: UnsubscribeTokens;
  /** Pages of the web front end (APP_URL); a review mail's course link points there when it is set. */
  appLinks?: AppLinks;
}

export interface EnqueueInput {
  userId: string | null;
  recipient: string;
  template: MailTemplate;
  locale: MailLocale;
  data: Record<string, unknown>;
  idempotencyKey?: string;
}

export interface NotifyUserInput {
  userId: string;
  template: MailTemplate;
  data: Record<string, unknown>;
  idempotencyKey: string;
}

export type NotifyUserResult = { id: string; status: 'queued' | 'duplicate' } | { id: null; status: 'suppressed' };

/**
 * Mails a user can turn off, each kind with its own preference and unsubscribe link. Enrolment and
 * completion mails answer the learner's own action, like a receipt, and always go out.
 */
const OPTIONAL_MAILS: Partial<Record<MailTemplate, { topic: UnsubscribeTopic; wanted: (user: UserRow) => boolean }>> = {
  review_created: { topic: 'reviews', wanted: (u) => u.notify_reviews },
  review_hidden: { topic: 'reviews', wanted: (u) => u.notify_reviews },
  course_announcement: { topic: 'announcements', wanted: (u) => u.notify_announcements },
};

/** Mails whose `courseLink` points at the front end's course page when APP_URL is set. */
const COURSE_LINK_TEMPLATES: readonly MailTemplate[] = ['review_created', 'enrolment_created', 'course_announcement'];

const CURSOR_KIND = 'notifications';
const MAX_PAGE = 100;

export class NotificationService {
  private readonly db: Database;
  private readonly notifications: NotificationRepository;
  private readonly users: UserRepository;
  private readonly publicUrl: string;
  private readonly unsubscribe: UnsubscribeTokens;
  private readonly appLinks: AppLinks | undefined;

  constructor(deps: NotificationServiceDeps) {
    this.db = deps.db;
    this.notifications = deps.notifications;
    this.users = deps.users;
    this.publicUrl = deps.publicUrl.replace(/\/+$/, '');
    this.unsubscribe = deps.unsubscribe;
    this.appLinks = deps.appLinks;
  }

  /** The page behind a review mail's "unsubscribe" link: one button that turns review mails off. */
  unsubscribeLink(userId: string, topic: UnsubscribeTopic = 'reviews'): string {
    return `${this.publicUrl}/api/v1/auth/pages/unsubscribe?token=${this.unsubscribe.make(userId, topic)}`;
  }

  /** RFC 8058 one-click target: mail clients POST `List-Unsubscribe=One-Click` here. */
  oneClickUnsubscribeUrl(userId: string, topic: UnsubscribeTopic = 'reviews'): string {
    return `${this.publicUrl}/api/v1/users/unsubscribe?token=${this.unsubscribe.make(userId, topic)}`;
  }

  /**
   * Queues a mail on `tx`, so the change that causes it and the mail commit or roll back together.
   * A repeated `idempotencyKey` returns the existing row with `created: false`.
   */
  async enqueue(tx: Queryable, n: EnqueueInput): Promise<{ id: string; created: boolean }> {
    if (!isMailTemplate(n.template)) throw HttpError.badRequest('invalid_template', `Unknown mail template "${String(n.template)}"`);
    if (n.locale !== 'en' && n.locale !== 'ru') throw HttpError.badRequest('invalid_locale', `Unknown mail locale "${String(n.locale)}"`);
    if (typeof n.recipient !== 'string' || n.recipient.trim() === '') throw HttpError.badRequest('invalid_recipient', 'A mail needs a recipient');
    return this.notifications.enqueue(
      {
        id: newId(),
        userId: n.userId,
        recipient: n.recipient,
        template: n.template,
        locale: n.locale,
        data: n.data,
        ...(n.idempotencyKey !== undefined && { idempotencyKey: n.idempotencyKey }),
      },
      tx,
    );
  }

  /**
   * A review mail for one user, asked for by another service or an admin. Recipient, locale and
   * `displayName` come from the user row, never from the caller.
   *
   * Suppressed mails (disabled user, review mails turned off) are not recorded at all: the outbox only
   * holds `queued|sent|failed`, and a `failed` marker could be "retried" by an admin into the inbox of
   * someone who opted out. So a suppressed request leaves no row and repeating it answers `suppressed`
   * again; if the user's settings change in between, a repeat may answer differently but never sends twice.
   *
   * The idempotency key is scoped to the user and the template (`api:<userId>:<template>:<key>`), so an
   * API key never collides with auth-service's own keys, and two callers that happen to pick the same key
   * for different users do not swallow each other's mail.
   */
  async notifyUser(input: NotifyUserInput): Promise<NotifyUserResult> {
    if (!(API_TEMPLATES as readonly MailTemplate[]).includes(input.template)) {
      throw HttpError.badRequest('template_not_allowed', `Template "${String(input.template)}" cannot be sent through this API`);
    }
    // Not a uuid means no such user; checked here so PostgreSQL never sees a malformed uuid.
    const user = isUuid(input.userId) ? await this.users.findById(input.userId) : null;
    if (!user) throw HttpError.notFound('user_not_found', 'No user with this id');

    // With APP_URL the course link is the front end's course page, whatever address the caller sent
    // (course-service sends its JSON API address, which is the link only while no front end is known).
    const coursePage = COURSE_LINK_TEMPLATES.includes(input.template)
      ? this.appLinks?.coursePage({ slug: input.data.courseSlug, id: input.data.courseId })
      : undefined;
    const certificatePage =
      input.template === 'course_completed' ? this.appLinks?.certificatePage({ verificationId: input.data.certificateVerificationId }) : undefined;
    const optional = OPTIONAL_MAILS[input.template];
    const data: Record<string, unknown> = {
      ...input.data,
      ...(coursePage !== undefined && { courseLink: coursePage }),
      ...(certificatePage !== undefined && { certificateLink: certificatePage }),
      displayName: user.display_name,
      ...(optional && {
        unsubscribeLink: this.unsubscribeLink(user.id, optional.topic),
        oneClickUnsubscribe: this.oneClickUnsubscribeUrl(user.id, optional.topic),
      }),
    };
    // Rendered once now, so a caller's missing or malformed field is its 400, not a failed mail later.
    // The renderer's messages name the field only, never a value.
    try {
      renderMail(input.template, user.locale, data);
    } catch (err) {
      throw HttpError.badRequest('invalid_notification_data', (err as Error).message);
    }

    if (user.disabled_at !== null) return { id: null, status: 'suppressed' };
    if (optional && !optional.wanted(user)) return { id: null, status: 'suppressed' };

    const { id, created } = await this.enqueue(this.db, {
      userId: user.id,
      recipient: user.email,
      template: input.template,
      locale: user.locale,
      data,
      idempotencyKey: `api:${user.id}:${input.template}:${input.idempotencyKey}`,
    });
    return { id, status: created ? 'queued' : 'duplicate' };
  }

  /** Newest first; `cursor` continues after the last item of the previous page. */
  async list(query: { status?: NotificationStatus; cursor?: string; limit?: number }): Promise<{ items: NotificationView[]; nextCursor: string | null }> {
    if (query.status !== undefined && !NOTIFICATION_STATUSES.includes(query.status)) {
      throw HttpError.badRequest('invalid_status', `Unknown notification status "${String(query.status)}"`);
    }
    const limit = Math.min(Math.max(Math.trunc(query.limit ?? 20) || 1, 1), MAX_PAGE);
    const afterId = decodeCursor(query.cursor, CURSOR_KIND, ['uuid'])?.[0] as string | undefined;
    const rows = await this.notifications.list({ status: query.status, afterId, limit: limit + 1 });
    return keysetPage(rows, limit, CURSOR_KIND, toNotificationView, (row) => [row.id]);
  }

  /** An admin's retry of a failed mail: queued again with a fresh attempt count. */
  async retry(id: string): Promise<NotificationView> {
    const row = isUuid(id) ? await this.notifications.findById(id) : null;
    if (!row) throw HttpError.notFound('notification_not_found', 'No notification with this id');
    if (row.status !== 'failed') throw HttpError.conflict('notification_not_failed', `Only failed mail can be retried; this one is ${row.status}`);
    const requeued = await this.notifications.requeue(id);
    // Another admin retried it between the read and the update.
    if (!requeued) throw HttpError.conflict('notification_not_failed', 'The notification is no longer failed');
    return toNotificationView(requeued);
  }
}

