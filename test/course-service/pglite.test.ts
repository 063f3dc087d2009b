/**
 * Embedded mode: the same migrations and SQL on PGlite (no server needed), through the services, so a
 * PostgreSQL-only construct cannot slip in unnoticed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../internal/shared/utils/database.js';
import { Migrator } from '../../internal/shared/utils/migrations.js';
import { MemoryStore } from '../../internal/shared/utils/redis.js';
import { CacheService } from '../../internal/course-service/services/cache/cache_service.js';
import { migrationsDir } from '../helpers/pg.js';
import { admin, instructor, publishedCourse, reviewAsLearner, services, student, walk } from './factories.js';

describe('course-service on PGlite', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openDatabase({ url: '', dataDir: 'memory://' });
    await new Migrator(db, 'course-service', migrationsDir('course-service')).up();
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it('creates, searches, pages, reviews and moderates', async () => {
    const cache = new CacheService(new MemoryStore(), { courseTtlMs: 1000, listTtlMs: 1000, reviewsTtlMs: 1000, categoriesTtlMs: 1000 });
    const { courses, reviews } = services(db, cache);
    // Authors enrol first (reviews.requireEnrolment), on PGlite as on PostgreSQL.
    const enrolAndReview = reviewAsLearner(db, reviews, cache);
    const owner = instructor();
    const made = [];
    for (let i = 0; i < 9; i++) made.push(await publishedCourse(db, courses, owner, { title: `Embedded course ${i % 3}`, tags: ['pglite'] }));

    for (const sort of ['newest', 'rating', 'popular', 'title'] as const) {
      const { items } = await walk((cursor) => courses.list({ sort, limit: 4, cursor }));
      expect(new Set(items.map((c) => c.id))).toEqual(new Set(made.map((c) => c.id)));
    }
    const { items: found } = await walk((cursor) => courses.list({ q: 'embedded', limit: 4, cursor }));
    expect(found).toHaveLength(9);
    expect((await courses.list({ tag: 'pglite', minRating: 0 })).items).toHaveLength(9);
    // Prefixes, Russian stemming and the category's letter case work embedded too.
    expect((await courses.list({ q: 'embed', category: 'PROGRAMMING' })).items).toHaveLength(9);
    const ru = await publishedCourse(db, courses, owner, { title: 'Встроенные базы данных', language: 'ru', tags: ['pglite'] });
    expect((await courses.list({ q: 'встроенная база' })).items.map((c) => c.id)).toEqual([ru.id]);
    await courses.delete(owner, ru.id);

    const course = made[0]!;
    const a = student();
    const r = await enrolAndReview(a, course.id, { rating: 4, title: 'Fine' });
    await reviews.update(a, r.id, { rating: 2 });
    await enrolAndReview(student(), course.id, { rating: 5 });
    await reviews.hide(admin(), r.id);
    expect((await courses.get(undefined, course.id)).rating).toEqual({ average: 5, count: 1, distribution: { '1': 0, '2': 0, '3': 0, '4': 0, '5': 1 } });
    expect((await reviews.listByCourse(undefined, course.id, { sort: 'rating_asc' })).items).toHaveLength(1);
    await enrolAndReview(student(), course.id, { rating: 3 });
    await enrolAndReview(student(), course.id, { rating: 3 });
    for (const sort of ['rating_asc', 'rating_desc', 'newest'] as const) {
      const { items } = await walk((cursor) => reviews.listByCourse(undefined, course.id, { sort, limit: 1, cursor }));
      expect(items.map((x) => x.rating).sort()).toEqual([3, 3, 5]);
    }
    expect((await courses.listCategories()).items).toEqual([{ name: 'Programming', courseCount: 9 }]);
    const { rows } = await db.query<{ type: string }>('SELECT type FROM course_outbox ORDER BY created_at, id');
    // Each author enrolled just before reviewing.
    expect(rows.map((e) => e.type)).toEqual([
      'enrolment_created', 'review_created', 'enrolment_created', 'review_created', 'review_hidden',
      'enrolment_created', 'review_created', 'enrolment_created', 'review_created',
    ]);
    expect((await courses.get(undefined, course.id)).enrolmentCount).toBe(4);
  });
});
