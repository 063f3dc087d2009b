/**
 * The consumer of auth-service's account events, and course-service's part of the GDPR export. Only
 * auth-service may call either (its own service token: role `service`, subject `client:auth-service`,
 * verified against the JWKS course-service already uses; no new secret).
 *
 * `account_deleted`, in one transaction, idempotent by event id (processed_account_events):
 * - reviews: kept anonymous (no author id, "Deleted user"; the rating aggregates do not move), or with
 *   `eraseReviews` deleted, each visible one taking its rating out of its course's aggregate by the
 *   same delta a review delete applies (ratingDelta + CourseRepository.applyRatingDelta);
 * - enrolments deleted, the course's active learners, learners in total and completions moved down by
 *   what a recount would lose; lesson completions deleted, each lesson's count following; certificates
 *   deleted;
 * - the user's own courses archived, their name on them replaced by "Deleted user".
 * A replay finds its event id and changes nothing. Cache entries are made stale after the commit.
 */
import type { Database, Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import type { Principal } from '../../shared/utils/jwt.js';
import { isoTime } from '../models/common.js';
import type { AccountEventInput, AccountEventResult, UserExport } from '../models/account_events.js';
import type { AccountDataRepository } from '../repository/account_data_repository.js';
import type { CourseRepository } from '../repository/course_repository.js';
import { CacheScopes, type CacheInvalidator } from './cache/cache_scopes.js';
import { ratingDelta } from './review_service.js';
import { inTransaction } from './transactions.js';

/** The subject of auth-service's own service tokens (auth-service refuses a client of that id). */
export const AUTH_SERVICE_SUBJECT = 'client:auth-service';

export interface AccountEventsDeps {
  db: Database;
  data: AccountDataRepository;
  courses: CourseRepository;
  cache?: CacheInvalidator;
}

/** 403 unless the caller is auth-service itself (not a user, not another service client). */
export function requireAuthService(principal: Principal | undefined): void {
  if (!principal || principal.role !== 'service' || principal.sub !== AUTH_SERVICE_SUBJECT) {
    throw HttpError.forbidden('forbidden', 'Only auth-service may call this');
  }
}

const time = (v: Date | string | null): string | null => (v === null ? null : isoTime(v));

export class AccountEventsService {
  constructor(private readonly d: AccountEventsDeps) {}

  async apply(principal: Principal | undefined, event: AccountEventInput): Promise<AccountEventResult> {
    requireAuthService(principal);
    const outcome = await inTransaction(this.d.db, (tx) => this.applyDeletion(tx, event));
    if (outcome) await this.invalidate(event.userId, outcome);
    return { status: outcome ? 'applied' : 'duplicate' };
  }

  private async applyDeletion(tx: Queryable, event: AccountEventInput): Promise<{ courseIds: Set<string>; reviewIds: string[] } | undefined> {
    if (!(await this.d.data.markProcessed(event.eventId, tx))) return undefined;
    const courseIds = new Set<string>();
    const reviews = await this.d.data.lockReviewsByAuthor(event.userId, tx);
    for (const r of reviews) courseIds.add(r.course_id);
    if (event.eraseReviews) {
      for (const r of reviews) {
        await this.d.data.deleteReview(r.id, tx);
        // A hidden review is not in the aggregate: its delta is zero.
        if (r.status !== 'visible') continue;
        await this.d.courses.applyRatingDelta(r.course_id, ratingDelta(r.rating, null), {}, tx);
      }
    } else {
      await this.d.data.anonymiseReviews(event.userId, tx);
    }
    for (const id of await this.d.data.deleteEnrolments(event.userId, tx)) courseIds.add(id);
    await this.d.data.deleteCompletions(event.userId, tx);
    await this.d.data.deleteCertificates(event.userId, tx);
    for (const id of await this.d.data.archiveCourses(event.userId, tx)) courseIds.add(id);
    return { courseIds, reviewIds: reviews.map((r) => r.id) };
  }

  private async invalidate(userId: string, touched: { courseIds: Set<string>; reviewIds: string[] }): Promise<void> {
    const scopes = new Set<string>([
      CacheScopes.courses,
      CacheScopes.categories,
      CacheScopes.slugReviews,
      CacheScopes.allReviews,
      CacheScopes.authorReviews(userId),
    ]);
    for (const id of touched.courseIds) {
      scopes.add(CacheScopes.course(id));
      scopes.add(CacheScopes.courseReviews(id));
    }
    for (const id of touched.reviewIds) scopes.add(CacheScopes.review(id));
    await this.d.cache?.invalidate([...scopes]);
  }

  /** Everything course-service holds about `userId`, for auth-service's export. */
  async exportUser(principal: Principal | undefined, userId: string): Promise<UserExport> {
    requireAuthService(principal);
    const [reviews, enrolments, completions, certificates, courses] = await Promise.all([
      this.d.data.reviewsOf(userId),
      this.d.data.enrolmentsOf(userId),
      this.d.data.completionsOf(userId),
      this.d.data.certificatesOf(userId),
      this.d.data.coursesOf(userId),
    ]);
    return {
      reviews: reviews.map((r) => ({
        id: r.id,
        courseId: r.course_id,
        courseTitle: r.course_title,
        authorName: r.author_name,
        rating: Number(r.rating),
        title: r.title,
        body: r.body,
        status: r.status,
        createdAt: isoTime(r.created_at),
        updatedAt: isoTime(r.updated_at),
      })),
      enrolments: enrolments.map((e) => ({
        courseId: e.course_id,
        courseTitle: e.course_title,
        learnerName: e.learner_name,
        status: e.status,
        mode: e.mode,
        completedLessons: Number(e.completed_lessons),
        lastLessonId: e.last_lesson_id,
        enrolledAt: isoTime(e.enrolled_at),
        leftAt: time(e.left_at),
        completedAt: time(e.completed_at),
        lastActivityAt: isoTime(e.last_activity_at),
      })),
      lessonCompletions: completions.map((c) => ({ lessonId: c.lesson_id, courseId: c.course_id, completedAt: isoTime(c.completed_at) })),
      certificates: certificates.map((c) => ({
        verificationId: c.verification_id,
        courseId: c.course_id,
        learnerName: c.learner_name,
        courseTitle: c.course_title,
        instructorName: c.instructor_name,
        durationSeconds: Number(c.duration_seconds),
        status: c.status,
        issuedAt: isoTime(c.issued_at),
        revokedAt: time(c.revoked_at),
      })),
      courses: courses.map((c) => ({
        id: c.id,
        slug: c.slug,
        title: c.title,
        summary: c.summary,
        description: c.description,
        category: c.category,
        tags: c.tags,
        level: c.level,
        language: c.language,
        durationMinutes: Number(c.duration_minutes),
        instructorName: c.instructor_name,
        status: c.status,
        publishedAt: time(c.published_at),
        createdAt: isoTime(c.created_at),
        updatedAt: isoTime(c.updated_at),
      })),
    };
  }
}
