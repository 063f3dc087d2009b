/**
 * SQL for reviews, in the repository style of CourseRepository (docs/ARCHITECTURE.md, "Data layer"):
 * executor last and optional, `null` for not found, and the constraints a create can hit translated
 * here (a second review by the same author: 409 `review_exists`).
 */
import { PgCode, pgConstraint, pgErrorCode, type Queryable } from '../../shared/utils/database.js';
import { HttpError } from '../../shared/utils/errors.js';
import { SqlParams } from '../../shared/utils/sql.js';
import { courseNotPublished } from '../models/errors.js';
import type { ReviewCreatedEvent } from '../models/events.js';
import type { CourseStatus } from '../models/course.js';
import type { ReviewRow, ReviewSort, ReviewStatus } from '../models/review.js';
import { ratingDeltaParams, ratingDeltaSet, type RatingDelta } from './course_repository.js';

const COLUMNS = `r.id, r.course_id, r.author_id, r.author_name, r.rating, r.title, r.body, r.status,
  r.response_body, r.responded_at, r.created_at, r.updated_at`;
const RETURNING = COLUMNS.replace(/r\./g, '');

const REVIEW_UNIQUE_CONSTRAINT = 'reviews_course_author_key';

/**
 * The `review_created` payload as `insertCounted` builds it in SQL, key by key (the event type's keys,
 * checked by the compiler): from the course row the UPDATE returned, the review the INSERT returned and
 * the event id.
 */
const REVIEW_CREATED_PAYLOAD: Record<keyof ReviewCreatedEvent, string> = {
  eventId: '$8::uuid',
  courseId: 'course.id',
  courseTitle: 'course.title',
  courseSlug: 'course.slug',
  instructorId: 'course.instructor_id',
  reviewId: 'review.id',
  rating: 'review.rating',
  title: 'review.title',
  body: 'review.body',
  authorName: 'review.author_name',
};

/** Raised (by review_counted(), migration 0006) when the course stopped being published before the aggregate moved. */
const REVIEW_COURSE_PUBLISHED = 'review_course_published';

/**
 * A review, the course's aggregate and the outbox event in one statement: one statement is one
 * transaction, so all three commit or none does. The order is the one separate statements had, and it
 * matters: first the INSERT (whose unique check may wait for a concurrent edit or delete of the same
 * author's review), only then the course's row lock (the UPDATE, gated by the InitPlan on `review`).
 * Taking the course lock first deadlocks with a review delete, which holds the review and waits for the
 * course. The INSERT reads the course in the statement's snapshot ("published, not your own"); the
 * UPDATE re-checks "published" under the row lock, and when that fails review_counted() raises, which
 * undoes the insert. A second review by the same author violates reviews_course_author_key. Named, so
 * each pooled connection plans it once: its plan (primary-key lookups) does not depend on the parameters.
 */
const INSERT_COUNTED = {
  name: 'review_insert_counted',
  text: `WITH review AS (
           INSERT INTO reviews (id, course_id, author_id, author_name, rating, title, body)
           SELECT $1::uuid, c.id, $3::uuid, $4::text, $5::smallint, $6::text, $7::text
             FROM courses c
            WHERE c.id = $2::uuid AND c.status = 'published' AND c.instructor_id <> $3::uuid
              AND (NOT $16::boolean OR EXISTS (
                    SELECT FROM enrolments e WHERE e.course_id = c.id AND e.user_id = $3::uuid AND e.status = 'active'))
           RETURNING ${RETURNING}
         ), course AS (
           UPDATE courses SET ${ratingDeltaSet(9)}
            WHERE id = $2::uuid AND status = 'published' AND EXISTS (SELECT FROM review)
           RETURNING id, title, slug, instructor_id
         ), event AS (
           INSERT INTO course_outbox (id, type, payload)
           SELECT $8::uuid, 'review_created',
                  jsonb_build_object(${Object.entries(REVIEW_CREATED_PAYLOAD).map(([k, v]) => `'${k}', ${v}`).join(', ')})
             FROM course, review
         )
         SELECT ${RETURNING.replace(/(\w+)/g, 'review.$1')}, review_counted(course.id IS NOT NULL) AS counted
           FROM review LEFT JOIN course ON true`,
};

export interface NewReview {
  id: string;
  courseId: string;
  authorId: string;
  authorName: string;
  rating: number;
  title: string | null;
  body: string | null;
}

/** Content changes (`updated_at` moves) and/or a moderation status (it does not). */
export interface ReviewChanges {
  rating?: number;
  title?: string | null;
  body?: string | null;
  authorName?: string;
  status?: ReviewStatus;
}

/** A review with what access checks need to know about its course. */
export type ReviewWithCourse = ReviewRow & { course_status: CourseStatus; course_instructor_id: string };

export class ReviewRepository {
  constructor(private readonly db: Queryable) {}

  async insert(review: NewReview, q: Queryable = this.db): Promise<ReviewRow> {
    const { rows } = await q.query<ReviewRow>(
      `INSERT INTO reviews (id, course_id, author_id, author_name, rating, title, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${RETURNING}`,
      [review.id, review.courseId, review.authorId, review.authorName, review.rating, review.title, review.body],
    );
    return rows[0]!;
  }

  /**
   * Creates a review of a published course by someone other than its instructor, moves the course's
   * rating aggregate by `delta` and adds the `review_created` event `eventId`, in one round trip (see
   * INSERT_COUNTED). Null when the course is missing, not published or the author's own, or (with
   * `requireEnrolment`) the author is not an active learner of it; the caller
   * looks at the course to say which. The constraint decides a duplicate, not a pre-check (concurrent
   * creates cannot both pass): 409 `review_exists`, naming the existing review as `reviewId` so a client
   * can offer to edit it. A course unpublished between the statement's snapshot and its row lock: 409
   * `course_not_published`.
   */
  async insertCounted(
    review: NewReview,
    delta: RatingDelta,
    eventId: string,
    options: { requireEnrolment: boolean },
    q: Queryable = this.db,
  ): Promise<ReviewRow | null> {
    try {
      const { rows } = await q.query<ReviewRow>(
        INSERT_COUNTED.text,
        [
          review.id, review.courseId, review.authorId, review.authorName, review.rating, review.title, review.body, eventId,
          ...ratingDeltaParams(delta), options.requireEnrolment,
        ],
        { name: INSERT_COUNTED.name },
      );
      return rows[0] ?? null;
    } catch (err) {
      if (pgErrorCode(err) === PgCode.uniqueViolation && pgConstraint(err) === REVIEW_UNIQUE_CONSTRAINT) {
        // Outside `q`, which the failed statement may have aborted; absent only if it was deleted since.
        const existing = await this.findIdByCourseAndAuthor(review.courseId, review.authorId);
        throw HttpError.conflict('review_exists', 'You have already reviewed this course; edit that review instead', existing ? { reviewId: existing } : undefined);
      }
      if (pgConstraint(err) === REVIEW_COURSE_PUBLISHED) throw courseNotPublished();
      throw err;
    }
  }

  async findById(id: string, q: Queryable = this.db): Promise<ReviewRow | null> {
    const { rows } = await q.query<ReviewRow>(`SELECT ${COLUMNS} FROM reviews r WHERE r.id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** findById that locks the row until `tx` ends (the base for exact aggregate deltas). */
  async findForUpdate(id: string, tx: Queryable): Promise<ReviewRow | null> {
    const { rows } = await tx.query<ReviewRow>(`SELECT ${COLUMNS} FROM reviews r WHERE r.id = $1 FOR UPDATE`, [id]);
    return rows[0] ?? null;
  }

  /** The id of `authorId`'s review of `courseId` (reviews_course_author_key finds it), or null. */
  async findIdByCourseAndAuthor(courseId: string, authorId: string, q: Queryable = this.db): Promise<string | null> {
    const { rows } = await q.query<{ id: string }>('SELECT id FROM reviews WHERE course_id = $1 AND author_id = $2', [courseId, authorId]);
    return rows[0]?.id ?? null;
  }

  async findWithCourse(id: string, q: Queryable = this.db): Promise<ReviewWithCourse | null> {
    const { rows } = await q.query<ReviewWithCourse>(
      `SELECT ${COLUMNS}, c.status AS course_status, c.instructor_id AS course_instructor_id
         FROM reviews r JOIN courses c ON c.id = r.course_id
        WHERE r.id = $1`,
      [id],
    );
    return rows[0] ?? null;
  }

  async update(id: string, changes: ReviewChanges, q: Queryable = this.db): Promise<ReviewRow | null> {
    const sql = new SqlParams(id);
    const sets: string[] = [];
    const set = (column: string, value: unknown) => sets.push(`${column} = ${sql.add(value)}`);
    if (changes.rating !== undefined) set('rating', changes.rating);
    if (changes.title !== undefined) set('title', changes.title);
    if (changes.body !== undefined) set('body', changes.body);
    if (changes.authorName !== undefined) set('author_name', changes.authorName);
    // updatedAt tells readers when the author last edited, so moderation does not move it.
    if (sets.length > 0) sets.push('updated_at = now()');
    if (changes.status !== undefined) set('status', changes.status);
    if (sets.length === 0) return this.findById(id, q);
    const { rows } = await q.query<ReviewRow>(`UPDATE reviews SET ${sets.join(', ')} WHERE id = $1 RETURNING ${RETURNING}`, sql.values);
    return rows[0] ?? null;
  }

  /** Sets (a string) or removes (null) the instructor's response. */
  async setResponse(id: string, body: string | null, q: Queryable = this.db): Promise<ReviewRow | null> {
    const { rows } = await q.query<ReviewRow>(
      `UPDATE reviews SET response_body = $2::text, responded_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END
        WHERE id = $1 RETURNING ${RETURNING}`,
      [id, body],
    );
    return rows[0] ?? null;
  }

  async delete(id: string, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query('DELETE FROM reviews WHERE id = $1', [id]);
    return rowCount > 0;
  }

  /** A keyset page of a course's visible reviews; `after` as produced by `reviewKeysetValues`. */
  async listVisibleByCourse(
    courseId: string,
    filter: { rating?: number },
    sort: ReviewSort,
    after: readonly (string | number)[] | undefined,
    limit: number,
    q: Queryable = this.db,
  ): Promise<ReviewRow[]> {
    const sql = new SqlParams();
    const p = sql.adder;
    const where = [`r.course_id = ${p(courseId)}::uuid`, `r.status = 'visible'`];
    if (filter.rating !== undefined) where.push(`r.rating = ${p(filter.rating)}::smallint`);
    let orderBy: string;
    switch (sort) {
      case 'newest':
        orderBy = 'r.created_at DESC, r.id DESC';
        if (after) where.push(`(r.created_at, r.id) < (${p(after[0])}::timestamptz, ${p(after[1])}::uuid)`);
        break;
      case 'rating_desc':
        orderBy = 'r.rating DESC, r.created_at DESC, r.id DESC';
        if (after) where.push(`(r.rating, r.created_at, r.id) < (${p(after[0])}::smallint, ${p(after[1])}::timestamptz, ${p(after[2])}::uuid)`);
        break;
      case 'rating_asc': {
        // Lowest rating first, newest first within a rating. Mixed directions cannot be one row
        // comparison, so the page after (r, c, i) is the rest of rating r (seek on created_at, id)
        // followed by the higher ratings: two index range scans, never a scan of skipped rows.
        orderBy = 'r.rating ASC, r.created_at DESC, r.id DESC';
        if (after) {
          const base = where.join(' AND ');
          const rating = p(after[0]);
          const sameRating = `${base} AND r.rating = ${rating}::smallint AND (r.created_at, r.id) < (${p(after[1])}::timestamptz, ${p(after[2])}::uuid)`;
          const higher = `${base} AND r.rating > ${rating}::smallint`;
          const n = p(limit);
          const { rows } = await q.query<ReviewRow>(
            `SELECT * FROM (
               (SELECT ${COLUMNS} FROM reviews r WHERE ${sameRating} ORDER BY r.created_at DESC, r.id DESC LIMIT ${n})
               UNION ALL
               (SELECT ${COLUMNS} FROM reviews r WHERE ${higher} ORDER BY ${orderBy} LIMIT ${n})
             ) page ORDER BY rating ASC, created_at DESC, id DESC LIMIT ${n}`,
            sql.values,
          );
          return rows;
        }
        break;
      }
    }
    const { rows } = await q.query<ReviewRow>(
      `SELECT ${COLUMNS} FROM reviews r WHERE ${where.join(' AND ')} ORDER BY ${orderBy} LIMIT ${p(limit)}`,
      sql.values,
    );
    return rows;
  }

  /**
   * A keyset page of an author's reviews, newest first. `includeHidden` (the author or an admin) shows
   * hidden reviews and reviews of courses that are no longer published; others see neither.
   */
  async listByAuthor(
    authorId: string,
    includeHidden: boolean,
    after: readonly (string | number)[] | undefined,
    limit: number,
    q: Queryable = this.db,
  ): Promise<ReviewRow[]> {
    const sql = new SqlParams(authorId);
    const where = ['r.author_id = $1::uuid'];
    let from = 'reviews r';
    if (!includeHidden) {
      from += ' JOIN courses c ON c.id = r.course_id';
      where.push(`r.status = 'visible'`, `c.status = 'published'`);
    }
    if (after) where.push(`(r.created_at, r.id) < (${sql.add(after[0], 'timestamptz')}, ${sql.add(after[1], 'uuid')})`);
    const { rows } = await q.query<ReviewRow>(
      `SELECT ${COLUMNS} FROM ${from} WHERE ${where.join(' AND ')} ORDER BY r.created_at DESC, r.id DESC LIMIT ${sql.add(limit)}`,
      sql.values,
    );
    return rows;
  }
}

/** The cursor values of a row for a review sort (`author` is the author list's newest order). */
export function reviewKeysetValues(row: ReviewRow, sort: ReviewSort | 'author'): (string | number)[] {
  const created = new Date(row.created_at).toISOString();
  switch (sort) {
    case 'newest':
    case 'author':
      return [created, row.id];
    case 'rating_desc':
    case 'rating_asc':
      return [Number(row.rating), created, row.id];
  }
}
