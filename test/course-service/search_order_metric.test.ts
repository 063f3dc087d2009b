/**
 * `course_search_order_correlation` on /metrics: how closely the search table follows category order
 * (migration 0017), so that an operator knows when to run `CLUSTER course_search` (deploy/README.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCourse, type CourseHarness } from '../helpers/course_app.js';
import { hasPostgres, hasRedis } from '../helpers/services.js';

describe.skipIf(!hasPostgres || !hasRedis)('course-service /metrics: the order of course_search', () => {
  let course: CourseHarness;
  beforeAll(async () => {
    // No token is ever sent, so the JWKS address is never asked.
    course = await startCourse({ jwksUrl: 'http://127.0.0.1:1/.well-known/jwks.json' });
  });
  afterAll(async () => {
    await course?.close();
  });

  const correlation = async (): Promise<number> => {
    const res = await course.call('GET', '/metrics');
    expect(res.status).toBe(200);
    const m = /^course_search_order_correlation(?:\{[^}]*\})? (\S+)$/m.exec(res.text);
    expect(m, 'the gauge is on /metrics').not.toBeNull();
    // prom-client writes NaN as `Nan`, which Prometheus reads as NaN.
    return Number(m![1]!);
  };

  it('is NaN before statistics, low while categories interleave, and 1 after CLUSTER and ANALYZE', async () => {
    expect(await correlation()).toBeNaN();

    // Published in alternating categories, as a catalogue grows.
    const categories = ['Zoology', 'Art', 'Music'];
    for (let i = 0; i < 60; i++) {
      const id = `0190a0b0-0000-7000-8000-${String(i).padStart(12, '0')}`;
      await course.database.db.query(
        `INSERT INTO courses (id, slug, title, category, level, language, duration_minutes, instructor_id, status, published_at)
         VALUES ($1, $2, $3, $4, 'beginner', 'en', 60, $1, 'published', now())`,
        [id, `order-${i}`, `Course ${i}`, categories[i % 3]],
      );
    }
    await course.database.db.query('ANALYZE course_search');
    expect(await correlation()).toBeLessThan(0.9);

    await course.database.db.query('CLUSTER course_search');
    await course.database.db.query('ANALYZE course_search');
    expect(await correlation()).toBe(1);
  });
});
