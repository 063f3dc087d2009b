/**
 * Course announcements: the course's instructor posts a message (202), and a fan-out worker queues one
 * `course_announcement` event per active learner in the course outbox, in batches, from which the relay
 * mails them through auth-service (which honours each learner's announcement preference and adds the
 * unsubscribe link).
 *
 * Decisions:
 * - Only the course's own instructor posts (an admin does not speak for an instructor: 403
 *   `not_course_owner`), to a published or archived course (a draft has no learners: 409
 *   `course_not_published`); at most ANNOUNCEMENTS_PER_DAY per course in 24 hours (429).
 * - "Once per learner": learners are taken in user-id order after the announcement's `fanout_after`,
 *   and the batch's events and the new `fanout_after` commit together, so a crash repeats no one and
 *   skips no one. Who counts is decided batch by batch: a learner who enrols while an announcement is
 *   being sent gets it if their id comes after the current place.
 * - The owner (and admins) list a course's announcements with their progress (`sending|sent`, recipients).
 */
import type { Database, Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { isUuid, newId } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import type { Logger } from '../../shared/utils/logging.js';
import { Poller } from '../../shared/utils/poller.js';
import {
  ANNOUNCEMENTS_PER_DAY,
  AnnouncementCreateBody,
  toAnnouncementDto,
  type AnnouncementCreateInput,
  type AnnouncementDto,
} from '../models/announcement.js';
import { courseNotFound } from '../models/errors.js';
import type { AnnouncementRepository } from '../repository/announcement_repository.js';
import type { CourseRepository } from '../repository/course_repository.js';
import type { OutboxRepository } from '../repository/outbox_repository.js';
import { canSeeCourse, isAdmin, requireUser, requireVerified } from './access.js';
import { inTransaction } from './transactions.js';
import { validateInput } from './validation.js';

export interface AnnouncementServiceDeps {
  db: Database;
  courses: CourseRepository;
  announcements: AnnouncementRepository;
  outbox: OutboxRepository;
}

export class AnnouncementService {
  constructor(private readonly d: AnnouncementServiceDeps) {}

  async post(principal: Principal | undefined, courseId: string, input: AnnouncementCreateInput): Promise<AnnouncementDto> {
    const user = requireUser(principal);
    const body = validateInput(AnnouncementCreateBody, input);
    const subject = body.subject.trim();
    const text = body.body.trim();
    if (subject === '' || text === '') {
      throw HttpError.badRequest('validation_failed', 'Subject and body must not be blank', [
        ...(subject === '' ? [{ path: 'body.subject', message: 'must not be blank' }] : []),
        ...(text === '' ? [{ path: 'body.body', message: 'must not be blank' }] : []),
      ]);
    }
    if (!isUuid(courseId)) throw courseNotFound();
    const row = await inTransaction(this.d.db, async (tx) => {
      // The course row is locked so two posts at once cannot both pass the daily limit.
      const course = await this.d.courses.findForUpdate(courseId, tx);
      if (!course || !canSeeCourse(user, course)) throw courseNotFound();
      if (course.instructor_id !== user.sub) {
        throw HttpError.forbidden('not_course_owner', "Only the course's instructor posts announcements to its learners");
      }
      requireVerified(user);
      if (course.status === 'draft') throw HttpError.conflict('course_not_published', 'A draft has no learners to announce to; publish it first');
      if ((await this.d.announcements.countLastDay(courseId, tx)) >= ANNOUNCEMENTS_PER_DAY) throw HttpError.tooManyRequests(3600);
      return this.d.announcements.create(
        { id: newId(), courseId, authorId: user.sub, authorName: user.name, subject, body: text },
        tx,
      );
    });
    return toAnnouncementDto(row);
  }

  /** The course's announcements, newest first: the owner's and admins' view of what went out. */
  async list(principal: Principal | undefined, courseId: string): Promise<{ items: AnnouncementDto[] }> {
    const user = requireUser(principal);
    if (!isUuid(courseId)) throw courseNotFound();
    const course = await this.d.courses.findById(courseId);
    if (!course || !canSeeCourse(user, course)) throw courseNotFound();
    if (course.instructor_id !== user.sub && !isAdmin(user)) {
      throw HttpError.forbidden('not_course_owner', "Only the course's instructor or an admin sees its announcements");
    }
    const rows = await this.d.announcements.listForCourse(courseId, 100);
    return { items: rows.map(toAnnouncementDto) };
  }
}

/**
 * Queues announcement mails in batches: each run takes the oldest announcement still sending (locked,
 * SKIP LOCKED across replicas), queues one outbox event per next active learner, and records its place,
 * all in one transaction.
 */
export class AnnouncementFanout {
  /** Runs batches until there is nothing to send, then waits `pollIntervalMs`. */
  private readonly loop: Poller;

  constructor(
    private readonly db: Database,
    private readonly announcements: AnnouncementRepository,
    private readonly outbox: OutboxRepository,
    private readonly logger: Logger,
    private readonly options: { batchSize: number; pollIntervalMs: number },
  ) {
    this.loop = new Poller(
      async () => {
        while ((await this.runOnce()) > 0);
      },
      { intervalMs: options.pollIntervalMs, logger, failure: 'announcement fan-out failed; will retry' },
    );
  }

  /** One batch of one announcement; returns how many learners it queued (0: nothing to do). */
  async runOnce(): Promise<number> {
    return inTransaction(this.db, (tx) => this.batch(tx));
  }

  private async batch(tx: Queryable): Promise<number> {
    const a = await this.announcements.claimSending(tx);
    if (!a) return 0;
    const learners = await this.announcements.nextLearners(a.course_id, a.fanout_after, this.options.batchSize, tx);
    await this.outbox.addMany(
      'course_announcement',
      learners.map((userId) => ({
        announcementId: a.id,
        courseId: a.course_id,
        courseTitle: a.course_title,
        courseSlug: a.course_slug,
        userId,
        subject: a.subject,
        body: a.body,
        instructorName: a.author_name,
      })),
      tx,
    );
    const done = learners.length < this.options.batchSize;
    await this.announcements.advance(a.id, learners.at(-1) ?? null, learners.length, done, tx);
    if (done) this.logger.info({ announcementId: a.id, recipients: a.recipients + learners.length }, 'announcement queued for every learner');
    // A finished announcement with no learners left still counts as work done, so the loop goes on.
    return Math.max(learners.length, done ? 1 : 0);
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
