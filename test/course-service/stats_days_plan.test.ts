/**
 * The instructor stats' day series reads only the asked range of course_daily_stats (issue 17, found by
 * bench/learning-plans.ts on the full catalogue): a course with 1,000 days of stats among 50 such
 * courses, asked for its default 30 days, gets exactly its rows of those days (zeros elsewhere), and the
 * scan of course_daily_stats yields at most those 30 rows, not the course's 1,000.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingDatabase, type RecordedStatement } from '../../bench/recording_db.js';
import { StatsService } from '../../internal/course-service/services/stats_service.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { instructor } from './factories.js';
import { planNodes, type PlanNode } from '../../bench/plan_nodes.js';

const DAY_MS = 86_400_000;
const NOW = new Date('2026-12-07T12:00:00Z');
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe.skipIf(!hasPostgres)('stats: the day series reads only its range', () => {
  let t: TestDatabase;
  const owner = instructor();
  let courseId: string;

  beforeAll(async () => {
    t = await createTestDatabase('course-service');
    await t.db.query(
      `INSERT INTO courses (id, slug, title, summary, description, category, tags, level, language, duration_minutes,
                            instructor_id, instructor_name, status, published_at)
       SELECT gen_random_uuid(), 'stats-days-' || i, 'Course ' || i, '', '', 'Stats', ARRAY['x'], 'beginner', 'en', 60,
              $1::uuid, 'Owner', 'published', now()
         FROM generate_series(1, 50) AS i`,
      [owner.sub],
    );
    // Every course has a row for each of the 1,000 days up to NOW's day; `enrolled` is the day's distance from it.
    await t.db.query(
      `INSERT INTO course_daily_stats (course_id, day, enrolled, left_count, completed)
       SELECT c.id, $1::date - g, g, 1, 0 FROM courses c, generate_series(0, 999) AS g`,
      [dayOf(NOW.getTime())],
    );
    courseId = (await t.db.query<{ id: string }>(`SELECT id FROM courses ORDER BY id LIMIT 1`)).rows[0]!.id;
    await t.db.query('ANALYZE courses; ANALYZE course_daily_stats');
  }, 120_000);
  afterAll(async () => {
    await t?.drop();
  });

  it('answers the 30 days with their figures and scans no more than those rows', async () => {
    const seen: RecordedStatement[] = [];
    const stats = new StatsService({ db: recordingDatabase(t.db, (s) => seen.push(s)) });
    const out = await stats.course(owner, courseId, {}, NOW);

    expect(out.days).toHaveLength(30);
    expect(out.days[0]).toEqual({ day: dayOf(NOW.getTime() - 29 * DAY_MS), enrolled: 29, left: 1, completed: 0 });
    expect(out.days[29]).toEqual({ day: dayOf(NOW.getTime()), enrolled: 0, left: 1, completed: 0 });

    const daysSql = seen.find((s) => /course_daily_stats/.test(s.sql));
    expect(daysSql).toBeDefined();
    const { rows } = await t.db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${daysSql!.sql}`, daysSql!.params);
    const planned = planNodes(rows[0]!['QUERY PLAN'][0].Plan);
    const scans = planned.filter((n) => n['Relation Name'] === 'course_daily_stats');
    expect(scans.length).toBeGreaterThan(0);
    expect(scans.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
    // Without the range on s.day the scan yields all 1,000 rows of the course.
    expect(Math.max(...scans.map((n) => n['Actual Rows'] ?? 0))).toBeLessThanOrEqual(30);
  });
});
