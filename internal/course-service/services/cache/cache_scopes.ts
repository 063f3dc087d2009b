/**
 * Which cache entries a write makes stale. Every cached read names the scopes it depends on; a write
 * bumps the version of each scope it touches (see CacheService), so all replicas stop serving the old
 * entries at once. Keep reads and writes of this file in step: a read that depends on data a write
 * changes must share a scope with it.
 *
 * | scope                    | read by                                              |
 * | ------------------------ | ---------------------------------------------------- |
 * | `course:<id>`            | GET /courses/{id}                                    |
 * | `courses`                | GET /courses (any filter), GET /courses/{slug}       |
 * | `categories`             | GET /categories                                      |
 * | `reviews:<courseId>`     | GET /courses/{id}/reviews                            |
 * | `slug-reviews`           | GET /courses/{slug}/reviews (with `courses`: the slug may move) |
 * | `review:<id>`            | GET /reviews/{id}                                    |
 * | `author-reviews:<userId>`| GET /reviews?authorId=                               |
 * | `reviews`                | GET /reviews/{id} and ?authorId= (a course hidden or deleted changes them) |
 * | `curriculum:<courseId>`  | GET /courses/{id}/curriculum                         |
 * | `slug-curricula`         | GET /courses/{slug}/curriculum (with `courses`: the slug may move) |
 */
export const CacheScopes = {
  course: (id: string) => `course:${id}`,
  courses: 'courses',
  categories: 'categories',
  courseReviews: (courseId: string) => `reviews:${courseId}`,
  review: (id: string) => `review:${id}`,
  authorReviews: (authorId: string) => `author-reviews:${authorId}`,
  allReviews: 'reviews',
  /**
   * Reviews read by course slug: the read cannot name the course's id before it runs, so every review
   * write bumps this one scope (slug reads are rarer than id reads; an id read is not disturbed).
   */
  slugReviews: 'slug-reviews',
  curriculum: (courseId: string) => `curriculum:${courseId}`,
  /** Outlines read by slug: every curriculum write bumps it (as `slugReviews` for reviews). */
  slugCurricula: 'slug-curricula',

  // ---- reads ----
  /** A slug can move to another course on any course write, so slug reads hang on `courses`. */
  courseRead: (idOrSlug: string, isId: boolean): string[] => (isId ? [CacheScopes.course(idOrSlug)] : [CacheScopes.courses]),
  courseListRead: (): string[] => [CacheScopes.courses],
  categoriesRead: (): string[] => [CacheScopes.categories],
  courseReviewsRead: (idOrSlug: string, isId: boolean): string[] =>
    isId ? [CacheScopes.courseReviews(idOrSlug)] : [CacheScopes.slugReviews, CacheScopes.courses],
  reviewRead: (id: string): string[] => [CacheScopes.review(id), CacheScopes.allReviews],
  authorReviewsRead: (authorId: string): string[] => [CacheScopes.authorReviews(authorId), CacheScopes.allReviews],
  curriculumRead: (idOrSlug: string, isId: boolean): string[] =>
    isId ? [CacheScopes.curriculum(idOrSlug)] : [CacheScopes.slugCurricula, CacheScopes.courses],

  // ---- writes ----
  afterCourseCreate: (id: string): string[] => [CacheScopes.course(id), CacheScopes.courses, CacheScopes.categories],
  /** A status change (publish, archive) shows or hides the course's reviews as well. */
  afterCourseUpdate: (id: string, statusChanged: boolean): string[] => [
    CacheScopes.course(id),
    CacheScopes.courses,
    CacheScopes.categories,
    ...(statusChanged ? [CacheScopes.courseReviews(id), CacheScopes.allReviews, CacheScopes.curriculum(id)] : []),
  ],
  afterCourseDelete: (id: string): string[] => [
    CacheScopes.course(id),
    CacheScopes.courses,
    CacheScopes.categories,
    CacheScopes.courseReviews(id),
    CacheScopes.allReviews,
    CacheScopes.curriculum(id),
  ],
  /** An enrol or leave moved the course's `enrolmentCount`: the course and every list showing it (sort=popular). */
  afterEnrolmentWrite: (courseId: string): string[] => [CacheScopes.course(courseId), CacheScopes.courses],
  /** `ratingChanged`: the course's aggregate moved, so the course and every list showing it did too. */
  afterReviewWrite: (review: { id: string; courseId: string; authorId: string | null }, ratingChanged: boolean): string[] => [
    CacheScopes.courseReviews(review.courseId),
    CacheScopes.slugReviews,
    CacheScopes.review(review.id),
    ...(review.authorId ? [CacheScopes.authorReviews(review.authorId)] : []),
    ...(ratingChanged ? [CacheScopes.course(review.courseId), CacheScopes.courses] : []),
  ],
  /**
   * Any section or lesson write: the outline (by id and by slug); when the course's lesson count or
   * total duration moved, also the course and every list showing it.
   */
  afterCurriculumWrite: (courseId: string, countersChanged: boolean): string[] => [
    CacheScopes.curriculum(courseId),
    CacheScopes.slugCurricula,
    ...(countersChanged ? [CacheScopes.course(courseId), CacheScopes.courses] : []),
  ],
};

/** What the services need from the cache: making entries stale after a commit. */
export interface CacheInvalidator {
  invalidate(scopes: readonly string[]): Promise<void>;
}
