/**
 * `course_search_order_correlation` on /metrics: how closely the search table follows category order
 * (migration 0017), so that an operator knows when to run `CLUSTER course_search` (deploy/README.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCourse, type CourseHarness } from '../helpers/course_app.js';
import { hasPostgres, hasRedis } from '../helpers/services.js';
import { insertInterleavedCourses } from './factories.js';

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

    await insertInterleavedCourses(course.database.db, 60);
    await course.database.db.query('ANALYZE course_search');
    expect(await correlation()).toBeLessThan(0.9);

    await course.database.db.query('CLUSTER course_search');
    await course.database.db.query('ANALYZE course_search');
    expect(await correlation()).toBe(1);
  });
});
