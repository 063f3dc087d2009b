/**
 * sort=popular and sort=rating read course_rankings (migrations 0015, 0016), which a trigger on courses
 * keeps equal to the course row in the same transaction: after enrolments, a leave, reviews (created,
 * edited to another star, deleted), a category change and an archive, the narrow row still says what the
 * course says, and the popular and rating lists follow at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CourseService } from '../../internal/course-service/services/course_service.js';
import { EnrolmentService } from '../../internal/course-service/services/enrolment_service.js';
import type { ReviewService } from '../../internal/course-service/services/review_service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { instructor, publishedCourse, reviewAsLearner, services, student } from './factories.js';

describe.skipIf(!hasPostgres)('course_rankings follows the course row', () => {
  let t: TestDatabase;
  let courses: CourseService;
  let reviews: ReviewService;
  let enrolments: EnrolmentService;

  beforeAll(async () => {
    t = await createTestDatabase('course-service');
    ({ courses, reviews } = services(t.db));
    enrolments = new EnrolmentService({ db: t.db });
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function expectInStep(courseId: string) {
    const { rows } = await t.db.query<Record<string, unknown>>(
      `SELECT p.published, c.status = 'published' AS course_published, p.category_key, lower(c.category) AS course_category,
              p.enrolment_count, c.enrolment_count AS course_enrolments, p.rating_count, c.rating_count AS course_ratings,
              p.rating_avg::text, c.rating_avg::text AS course_average
         FROM courses c JOIN course_rankings p ON p.course_id = c.id WHERE c.id = $1`,
      [courseId],
    );
    const r = rows[0]!;
    expect(r.published).toBe(r.course_published);
    expect(r.category_key).toBe(r.course_category);
    expect(r.enrolment_count).toBe(r.course_enrolments);
    expect(r.rating_count).toBe(r.course_ratings);
    expect(r.rating_avg).toBe(r.course_average);
    return r;
  }
  const popularIds = async (category: string) => (await courses.list({ category, sort: 'popular' })).items.map((c) => c.id);
  const ratingIds = async (category: string, minRating?: number) =>
    (await courses.list({ category, sort: 'rating', ...(minRating === undefined ? {} : { minRating }) })).items.map((c) => c.id);

  it('stays equal through enrolments, a leave, a review, a category change and an archive', async () => {
    const owner = instructor();
    const quiet = await publishedCourse(t.db, courses, owner, { category: 'Popularity-A' });
    const busy = await publishedCourse(t.db, courses, owner, { category: 'Popularity-A' });
    expect(await expectInStep(busy.id)).toMatchObject({ published: true, enrolment_count: 0 });

    const [a, b, c] = [student(), student(), student()];
    for (const u of [a, b, c]) await enrolments.enrol(u, busy.id);
    await enrolments.leave(c, busy.id);
    await enrolments.enrol(a, quiet.id);
    expect(await expectInStep(busy.id)).toMatchObject({ enrolment_count: 2 });
    expect(await popularIds('popularity-a')).toEqual([busy.id, quiet.id]);

    const written = await reviewAsLearner(t.db, reviews)(b, busy.id, { rating: 5 });
    expect(await expectInStep(busy.id)).toMatchObject({ rating_count: 1, rating_avg: '5.00' });
    await reviewAsLearner(t.db, reviews)(a, quiet.id, { rating: 3 });
    expect(await ratingIds('Popularity-A')).toEqual([busy.id, quiet.id]);
    expect(await ratingIds('popularity-a', 4)).toEqual([busy.id]);

    // Another star moves the sum alone (the count stays 1): the order follows.
    await reviews.update(b, written.id, { rating: 1 });
    expect(await expectInStep(busy.id)).toMatchObject({ rating_count: 1, rating_avg: '1.00' });
    expect(await ratingIds('popularity-a')).toEqual([quiet.id, busy.id]);
    expect(await ratingIds('popularity-a', 2)).toEqual([quiet.id]);
    await reviews.delete(b, written.id);
    expect(await expectInStep(busy.id)).toMatchObject({ rating_count: 0, rating_avg: '0.00' });
    await reviewAsLearner(t.db, reviews)(b, busy.id, { rating: 4 });

    await courses.update(owner, busy.id, { category: 'Popularity-B' });
    expect(await expectInStep(busy.id)).toMatchObject({ category_key: 'popularity-b' });
    expect(await popularIds('Popularity-A')).toEqual([quiet.id]);
    expect(await popularIds('popularity-b')).toEqual([busy.id]);
    expect(await ratingIds('popularity-b')).toEqual([busy.id]);

    await courses.update(owner, busy.id, { status: 'archived' });
    expect(await expectInStep(busy.id)).toMatchObject({ published: false });
    expect(await popularIds('popularity-b')).toEqual([]);
    expect(await ratingIds('popularity-b')).toEqual([]);
    expect(await expectInStep(quiet.id)).toMatchObject({ published: true, enrolment_count: 1 });
  });
});
