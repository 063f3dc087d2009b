/**
 * The `/metrics` gauge that tells an operator when to re-order the search table: course_search is kept
 * in category order (migration 0017), which PostgreSQL does not keep for newly published courses.
 * `deploy/README.md` ("Database upkeep") says what to do below 0.9.
 */
import { Gauge, type Registry } from 'prom-client';
import type { CourseRepository } from '../repository/course_repository.js';

export function registerSearchOrderMetric(registry: Registry, courses: CourseRepository): void {
  new Gauge({
    name: 'course_search_order_correlation',
    help:
      'How closely course_search follows category order (1 after CLUSTER course_search; re-cluster below 0.9), ' +
      'from its last ANALYZE; NaN before any statistics or when the database does not answer',
    registers: [registry],
    async collect() {
      // One pg_stats row per scrape; a database that does not answer leaves the scrape whole.
      this.set((await courses.searchOrderCorrelation().catch(() => null)) ?? NaN);
    },
  });
}
