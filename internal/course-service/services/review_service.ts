/**
 * Review rules: who reviews what (with `reviews.requireEnrolment`, active learners of the course only;
 * a learner who leaves keeps, edits and deletes their review), one review per user per course, moderation, the instructor's
 * response, and the course's rating aggregate, which moves in the same transaction as the review:
 *
 * - O(1): one `UPDATE courses SET rating_count = rating_count + ...` per write, never a recount.
 * - Exact under concurrency: an edit, hide, unhide or delete first locks the review row (FOR UPDATE),
 *   then computes the delta from the locked (current) values, so two writers of one review serialise
 *   and each applies the delta from the state the other left. Creates need no review lock: the unique
 *   constraint lets one insert win and the others fail with 409 `review_exists` (naming it as `reviewId`). A create is one
 *   statement (insert, aggregate, outbox event: ReviewRepository.insertCounted), one round trip.
 * - Only visible reviews count: hiding subtracts, unhiding adds back, editing a hidden review's rating
 *   moves nothing.
 *
 * Decisions: a review of a course the caller cannot see is 404 `course_not_found` (as GET would say);
 * of a course they can see that is not published (an admin on a draft) 409 `course_not_published`.
 * A moderator who hides or deletes someone else's visible review queues `review_hidden` (one mail: a
 * later delete of the already hidden review sends none).
 */
import type { Database, Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { isUuid, newId } from '../../shared/utils/ids.js';
import type { Principal } from '../../shared/utils/jwt.js';
import {
  AuthorReviewListQuery,
  CourseReviewListQuery,
  ReviewCreateBody,
  ReviewPatchBody,
  ReviewResponseBody,
  toReviewDto,
  type AuthorReviewListInput,
  type CourseReviewListInput,
  type ReviewCreateInput,
  type ReviewDto,
  type ReviewPage,
  type ReviewPatchInput,
  type ReviewResponseInput,
  type ReviewRow,
  type ReviewSort,
} from '../models/review.js';
import { courseNotFound, courseNotPublished, enrolmentRequired, reviewNotFound } from '../models/errors.js';
import { EnrolmentRepository } from '../repository/enrolment_repository.js';
import { CourseRepository, type RatedCourse, type RatingDelta } from '../repository/course_repository.js';
import { OutboxRepository } from '../repository/outbox_repository.js';
import { ReviewRepository, reviewKeysetValues, type ReviewChanges } from '../repository/review_repository.js';
import { canSeeCourse, isAdmin, requireUser, requireVerified } from './access.js';
import { CacheScopes, type CacheInvalidator } from './cache/cache_scopes.js';
import { DEFAULT_PAGE_SIZE, findCourseByIdOrSlug, type ConditionalOptions } from './course_service.js';
import { decodeCursor, keysetPage, type CursorValueKind } from '../../shared/utils/cursor.js';
import { checkIfMatch, etagOf } from '../../shared/utils/etag.js';
import { inTransaction, retryOnConflict } from './transactions.js';
import { validateInput } from './validation.js';

export interface ReviewServiceDeps {
  db: Database;
  courses?: CourseRepository;
  reviews?: ReviewRepository;
  outbox?: OutboxRepository;
  cache?: CacheInvalidator;
  /** Setting `reviews.requireEnrolment`: only active learners of the course may review it (default true). */
  requireEnrolment?: boolean;
}

const REVIEW_CURSOR_KINDS: Record<ReviewSort | 'author', CursorValueKind[]> = {
  newest: ['timestamp', 'uuid'],
  rating_desc: ['int', 'timestamp', 'uuid'],
  rating_asc: ['int', 'timestamp', 'uuid'],
  author: ['timestamp', 'uuid'],
};


/** Empty or blank text is "no text". */
function optionalText(value: string | null | undefined): string | null | undefined {
  if (value === undefined || value === null) return value;
  const t = value.trim();
  return t === '' ? null : t;
}

/** The aggregate change between a review counted with rating `from` and with rating `to` (null: not counted). */
export function ratingDelta(from: number | null, to: number | null): RatingDelta {
  const buckets: RatingDelta['buckets'] = [0, 0, 0, 0, 0];
  if (from !== null) buckets[from - 1] = -1;
  if (to !== null) buckets[to - 1] = (buckets[to - 1] ?? 0) + 1;
  return { count: (to === null ? 0 : 1) - (from === null ? 0 : 1), sum: (to ?? 0) - (from ?? 0), buckets };
}

function isZero(delta: RatingDelta): boolean {
  return delta.count === 0 && delta.sum === 0 && delta.buckets.every((b) => b === 0);
}

function counted(row: Pick<ReviewRow, 'status' | 'rating'>): number | null {
  return row.status === 'visible' ? Number(row.rating) : null;
}

export class ReviewService {
  private readonly db: Database;
  private readonly courses: CourseRepository;
  private readonly reviews: ReviewRepository;
  private readonly outbox: OutboxRepository;
  private readonly cache: CacheInvalidator | undefined;
  private readonly requireEnrolment: boolean;
  private readonly enrolments: EnrolmentRepository;

  constructor(deps: ReviewServiceDeps) {
    this.requireEnrolment = deps.requireEnrolment ?? true;
    this.enrolments = new EnrolmentRepository(deps.db);
    this.db = deps.db;
    this.courses = deps.courses ?? new CourseRepository(deps.db);
    this.reviews = deps.reviews ?? new ReviewRepository(deps.db);
    this.outbox = deps.outbox ?? new OutboxRepository(deps.db);
    this.cache = deps.cache;
  }

  /**
   * A verified user, not the course's instructor, on a published course, once per course. The review,
   * the aggregate delta and the `review_created` event are one statement (ReviewRepository.insertCounted),
   * one round trip; only a refused write reads the course to say why.
   */
  async create(principal: Principal | undefined, courseId: string, input: ReviewCreateInput): Promise<ReviewDto> {
    const user = requireUser(principal);
    requireVerified(user);
    const body = validateInput(ReviewCreateBody, input);
    if (!isUuid(courseId)) throw courseNotFound();

    const review = {
      id: newId(),
      courseId,
      authorId: user.sub,
      authorName: user.name,
      rating: body.rating,
      title: optionalText(body.title) ?? null,
      body: optionalText(body.body) ?? null,
    };
    // A duplicate (409 review_exists) and a course unpublished meanwhile are the repository's to name.
    const row = await retryOnConflict(() =>
      this.reviews.insertCounted(review, ratingDelta(null, body.rating), newId(), { requireEnrolment: this.requireEnrolment }),
    );
    if (!row) throw await this.refusal(user, courseId);
    await this.invalidate(row, true);
    return toReviewDto(row);
  }

  /** Why a create wrote nothing, in the order the rules are checked: visible, not one's own, published, enrolled. */
  private async refusal(user: Principal, courseId: string): Promise<HttpError> {
    const course = await this.courses.findById(courseId);
    if (!course || !canSeeCourse(user, course)) return courseNotFound();
    if (course.instructor_id === user.sub) return HttpError.forbidden('own_course', 'You cannot review your own course');
    if (course.status !== 'published') return courseNotPublished();
    if (this.requireEnrolment && !(await this.enrolments.isActiveLearner(course.id, user.sub))) return enrolmentRequired();
    // Published (and enrolled) now but not when the write looked: it changed in between, and the write's view stands.
    return courseNotPublished();
  }

  /** Visible reviews of visible courses to all; hidden ones (or ones of hidden courses) to the author and admins. */
  async get(principal: Principal | undefined, id: string): Promise<ReviewDto> {
    if (!isUuid(id)) throw reviewNotFound();
    const row = await this.reviews.findWithCourse(id);
    if (!row) throw reviewNotFound();
    const mine = principal !== undefined && principal.sub === row.author_id;
    const visible = row.status === 'visible' && canSeeCourse(principal, { status: row.course_status, instructor_id: row.course_instructor_id });
    if (!visible && !mine && !isAdmin(principal)) throw reviewNotFound();
    return toReviewDto(row);
  }

  /** One keyset page of a course's visible reviews (the course, by id or slug, must be visible to the caller). */
  async listByCourse(principal: Principal | undefined, courseIdOrSlug: string, query: CourseReviewListInput = {}): Promise<ReviewPage> {
    const input = validateInput(CourseReviewListQuery, query);
    const course = await findCourseByIdOrSlug(this.courses, courseIdOrSlug);
    if (!course || !canSeeCourse(principal, course)) throw courseNotFound();
    const sort = input.sort ?? 'newest';
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const cursorSort = `reviews:${sort}`;
    const after = decodeCursor(input.cursor, cursorSort, REVIEW_CURSOR_KINDS[sort]);
    const rows = await this.reviews.listVisibleByCourse(course.id, { rating: input.rating }, sort, after, limit + 1);
    return this.page(rows, limit, cursorSort, sort);
  }

  /**
   * One keyset page of a user's reviews, newest first. The author and admins also see hidden reviews
   * and reviews of courses no longer published.
   */
  async listByAuthor(principal: Principal | undefined, query: AuthorReviewListInput): Promise<ReviewPage> {
    const input = validateInput(AuthorReviewListQuery, query);
    const authorId = input.authorId.toLowerCase();
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const cursorSort = 'author-reviews:newest';
    const after = decodeCursor(input.cursor, cursorSort, REVIEW_CURSOR_KINDS.author);
    const includeHidden = isAdmin(principal) || principal?.sub === authorId;
    const rows = await this.reviews.listByAuthor(authorId, includeHidden, after, limit + 1);
    return this.page(rows, limit, cursorSort, 'author');
  }

  private page(rows: ReviewRow[], limit: number, cursorSort: string, sort: ReviewSort | 'author'): ReviewPage {
    return keysetPage(rows, limit, cursorSort, toReviewDto, (row) => reviewKeysetValues(row, sort));
  }

  /**
   * `rating`/`title`/`body`: the author only (403 `not_review_author`). `status`: admins only (403
   * `forbidden`); hiding someone else's review queues `review_hidden`. Both may come in one request.
   * `ifMatch` makes it conditional on the review's current ETag.
   */
  async update(principal: Principal | undefined, id: string, patch: ReviewPatchInput, options: ConditionalOptions = {}): Promise<ReviewDto> {
    const user = requireUser(principal);
    const body = validateInput(ReviewPatchBody, patch);
    if (!isUuid(id)) throw reviewNotFound();
    const editsContent = body.rating !== undefined || body.title !== undefined || body.body !== undefined;
    let ratingChanged = false;
    let changedAnything = false;

    const row = await inTransaction(this.db, async (tx) => {
      const current = await this.lockForWrite(tx, user, id);
      const isAuthor = current.author_id === user.sub;
      if (body.status !== undefined && !isAdmin(user)) throw HttpError.forbidden('forbidden', 'Only an admin can hide or show a review');
      if (editsContent && !isAuthor) throw HttpError.forbidden('not_review_author', 'Only the author can edit a review');
      checkIfMatch(options.ifMatch, etagOf(toReviewDto(current)));

      const changes: ReviewChanges = {};
      if (body.rating !== undefined && body.rating !== Number(current.rating)) changes.rating = body.rating;
      const title = optionalText(body.title);
      if (title !== undefined && title !== current.title) changes.title = title;
      const text = optionalText(body.body);
      if (text !== undefined && text !== current.body) changes.body = text;
      if (body.status !== undefined && body.status !== current.status) changes.status = body.status;
      if (Object.keys(changes).length === 0) return current;
      if (isAuthor && editsContent && user.name && user.name !== current.author_name) changes.authorName = user.name;

      const updated = (await this.reviews.update(id, changes, tx))!;
      const delta = ratingDelta(counted(current), counted(updated));
      const course = await this.applyDelta(tx, current.course_id, delta);
      if (current.status === 'visible' && updated.status === 'hidden' && !isAuthor) {
        await this.queueHidden(tx, current, course);
      }
      ratingChanged = !isZero(delta);
      changedAnything = true;
      return updated;
    });
    if (changedAnything) await this.invalidate(row, ratingChanged);
    return toReviewDto(row);
  }

  /** Admin moderation shorthands for `update(..., {status})`. */
  hide(principal: Principal | undefined, id: string): Promise<ReviewDto> {
    return this.update(principal, id, { status: 'hidden' });
  }

  unhide(principal: Principal | undefined, id: string): Promise<ReviewDto> {
    return this.update(principal, id, { status: 'visible' });
  }

  /** The author or an admin. An admin deleting someone else's visible review queues `review_hidden`. */
  async delete(principal: Principal | undefined, id: string): Promise<void> {
    const user = requireUser(principal);
    if (!isUuid(id)) throw reviewNotFound();
    let removed: ReviewRow | undefined;
    let ratingChanged = false;
    await inTransaction(this.db, async (tx) => {
      const current = await this.lockForWrite(tx, user, id);
      const isAuthor = current.author_id === user.sub;
      if (!isAuthor && !isAdmin(user)) throw HttpError.forbidden('not_review_author', 'Only the author or an admin can delete a review');
      await this.reviews.delete(id, tx);
      const delta = ratingDelta(counted(current), null);
      const course = await this.applyDelta(tx, current.course_id, delta);
      if (!isAuthor && current.status === 'visible') await this.queueHidden(tx, current, course);
      ratingChanged = !isZero(delta);
      removed = current;
    });
    if (removed) await this.invalidate(removed, ratingChanged);
  }

  /** The course's instructor answers (or re-answers) a review publicly. */
  async putResponse(principal: Principal | undefined, id: string, input: ReviewResponseInput): Promise<ReviewDto> {
    const user = requireUser(principal);
    const body = validateInput(ReviewResponseBody, input);
    const text = body.body.trim();
    if (!text) throw HttpError.badRequest('validation_failed', 'The request is not valid', [{ path: '/body', message: 'must not be blank' }]);
    await this.checkInstructor(user, id);
    const row = await this.reviews.setResponse(id, text);
    if (!row) throw reviewNotFound();
    await this.invalidate(row, false);
    return toReviewDto(row);
  }

  /** Removes the instructor's answer; removing none is not an error (idempotent). */
  async deleteResponse(principal: Principal | undefined, id: string): Promise<ReviewDto> {
    const user = requireUser(principal);
    const current = await this.checkInstructor(user, id);
    if (current.response_body === null) return toReviewDto(current);
    const row = await this.reviews.setResponse(id, null);
    if (!row) throw reviewNotFound();
    await this.invalidate(row, false);
    return toReviewDto(row);
  }

  private async checkInstructor(user: Principal, id: string): Promise<ReviewRow> {
    if (!isUuid(id)) throw reviewNotFound();
    const row = await this.reviews.findWithCourse(id);
    const course = row ? { status: row.course_status, instructor_id: row.course_instructor_id } : undefined;
    const seen = row && course && ((row.status === 'visible' && canSeeCourse(user, course)) || row.author_id === user.sub || isAdmin(user));
    if (!row || !seen) throw reviewNotFound();
    if (row.course_instructor_id !== user.sub) {
      throw HttpError.forbidden('not_course_instructor', "Only the course's instructor can respond to its reviews");
    }
    return row;
  }

  /** Locks the review; one the caller cannot see (hidden, not theirs, not admin) is 404. */
  private async lockForWrite(tx: Queryable, user: Principal, id: string): Promise<ReviewRow> {
    const row = await this.reviews.findForUpdate(id, tx);
    if (!row) throw reviewNotFound();
    if (row.status === 'hidden' && row.author_id !== user.sub && !isAdmin(user)) throw reviewNotFound();
    return row;
  }

  private async applyDelta(tx: Queryable, courseId: string, delta: RatingDelta): Promise<RatedCourse | null> {
    if (isZero(delta)) return null;
    return this.courses.applyRatingDelta(courseId, delta, {}, tx);
  }

  private async queueHidden(tx: Queryable, review: ReviewRow, course: RatedCourse | null): Promise<void> {
    // An anonymous review (its author's account is deleted) has nobody to tell.
    if (review.author_id === null) return;
    const title = course?.title ?? (await this.courses.findById(review.course_id, tx))?.title ?? '';
    await this.outbox.add(
      'review_hidden',
      { courseId: review.course_id, courseTitle: title, reviewId: review.id, authorId: review.author_id, reviewTitle: review.title },
      tx,
    );
  }

  private async invalidate(row: ReviewRow, ratingChanged: boolean): Promise<void> {
    await this.cache?.invalidate(
      CacheScopes.afterReviewWrite({ id: row.id, courseId: row.course_id, authorId: row.author_id }, ratingChanged),
    );
  }
}
