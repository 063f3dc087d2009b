/**
 * Loads the learning side of the bench catalogue into a database that `loadCatalog` has filled:
 * curricula for every course, an enrolment for every review (only learners review, so every author
 * is a learner of the course), a learner with `heavyEnrolments` enrolments (the my-learning figure),
 * lesson completions (about `completions` in all: each enrolment completes a prefix of its course's
 * lessons), certificates for those who completed everything, and every counter set from the rows in
 * set-based UPDATEs, so each equals a recount (the service itself only ever applies deltas).
 *
 * Set-based SQL with hash-derived choices, so the shape is the same on every run; ids are random.
 */
import type pg from 'pg';

export interface LearningOptions {
  /** Lesson completions to aim for (the prefix lengths are scaled to reach it). */
  completions: number;
  /** Enrolments of the one learner the my-learning figure reads. */
  heavyEnrolments: number;
  onStep?: (step: string, ms: number, detail?: string) => void;
}

export interface LearningResult {
  sections: number;
  lessons: number;
  enrolments: number;
  completions: number;
  certificates: number;
  heavyLearnerId: string | null;
}

/** `abs(hashtext(<expr> || salt)) % n`: a stable pseudo-random choice per row. */
const pick = (expr: string, salt: string, n: number) => `(abs(hashtext(${expr}::text || '${salt}')) % ${n})`;

export async function loadLearning(client: pg.ClientBase, options: LearningOptions): Promise<LearningResult> {
  let t0 = performance.now();
  const step = (name: string, detail?: string) => {
    options.onStep?.(name, performance.now() - t0, detail);
    t0 = performance.now();
  };
  const count = async (sql: string): Promise<number> => Number((await client.query<{ n: string }>(sql)).rows[0]!.n);

  let heavy: { id: string; name: string } | undefined;
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL maintenance_work_mem = '512MB'`);
    await client.query(`SET LOCAL work_mem = '256MB'`);
    // Two to four sections per course, two to five lessons per section.
    await client.query(
      `INSERT INTO course_sections (id, course_id, title, position, created_at, updated_at)
       SELECT gen_random_uuid(), c.id, 'Part ' || (g + 1), g, c.created_at, c.created_at
         FROM courses c, generate_series(0, 1 + ${pick('c.id', 's', 3)}) AS g`,
    );
    const sections = await count('SELECT count(*) AS n FROM course_sections');
    step('sections', `${sections} rows`);
    await client.query(
      `INSERT INTO lessons (id, course_id, section_id, title, kind, duration_seconds, preview, body, position, created_at, updated_at)
       SELECT gen_random_uuid(), s.course_id, s.id, 'Lesson ' || (s.position + 1) || '.' || (g + 1),
              (ARRAY['video', 'article', 'quiz'])[1 + ${pick("s.id::text || g", 'k', 3)}],
              60 + ${pick("s.id::text || g", 'd', 1140)},
              s.position = 0 AND g = 0,
              'The lesson text: examples, an exercise and its solution, written to be read in a few minutes. ' || repeat('Lorem ipsum dolor sit amet. ', 8),
              g, s.created_at, s.created_at
         FROM course_sections s, generate_series(0, 1 + ${pick('s.id', 'l', 4)}) AS g`,
    );
    const lessons = await count('SELECT count(*) AS n FROM lessons');
    step('lessons', `${lessons} rows`);

    // Every review's author is a learner of its course; about 8% of them have left (and kept the review).
    await client.query(
      `INSERT INTO enrolments (id, course_id, user_id, learner_name, status, enrolled_at, left_at, last_activity_at)
       SELECT gen_random_uuid(), r.course_id, r.author_id, r.author_name,
              CASE WHEN ${pick('r.id', 'left', 100)} < 8 THEN 'left' ELSE 'active' END,
              r.created_at - interval '3 days',
              CASE WHEN ${pick('r.id', 'left', 100)} < 8 THEN r.created_at + interval '1 day' END,
              r.created_at
         FROM reviews r`,
    );
    // The heavy learner: the most prolific author, enrolled in published courses up to heavyEnrolments.
    heavy = (await client.query<{ id: string; name: string }>(
      `SELECT author_id AS id, min(author_name) AS name FROM reviews GROUP BY author_id ORDER BY count(*) DESC, author_id LIMIT 1`,
    )).rows[0];
    if (heavy) {
      await client.query(
        `INSERT INTO enrolments (id, course_id, user_id, learner_name, status, enrolled_at, last_activity_at)
         SELECT gen_random_uuid(), c.id, $1, $2, 'active', c.published_at + interval '1 day', c.published_at + interval '2 days'
           FROM courses c
          WHERE c.status = 'published' AND c.instructor_id <> $1
            AND NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.course_id = c.id AND e.user_id = $1)
          ORDER BY c.id
          LIMIT GREATEST(0, $3 - (SELECT count(*) FROM enrolments WHERE user_id = $1))`,
        [heavy.id, heavy.name, options.heavyEnrolments],
      );
    }
    const enrolments = await count('SELECT count(*) AS n FROM enrolments');
    step('enrolments', `${enrolments} rows (one per review, and the heavy learner's)`);

    // Each enrolment completes the first m lessons of its course, m spread so that the total is near the target.
    const perEnrolment = enrolments ? Math.max(1, Math.round((2 * options.completions) / enrolments)) : 1;
    await client.query(`CREATE TEMP TABLE lesson_rank ON COMMIT DROP AS
      SELECT l.course_id, l.id AS lesson_id, (row_number() OVER (PARTITION BY l.course_id ORDER BY s.position, l.position) - 1)::int AS rank
        FROM lessons l JOIN course_sections s ON s.id = l.section_id`);
    await client.query(
      `INSERT INTO lesson_completions (user_id, lesson_id, course_id, completed_at)
       SELECT e.user_id, r.lesson_id, e.course_id, e.enrolled_at + make_interval(hours => r.rank + 1)
         FROM enrolments e JOIN lesson_rank r ON r.course_id = e.course_id AND r.rank < ${pick('e.id', 'm', perEnrolment + 1)}`,
    );
    const completions = await count('SELECT count(*) AS n FROM lesson_completions');
    step('lesson completions', `${completions} rows (prefixes of up to ${perEnrolment} lessons)`);

    // Counters, each from the rows (what the deltas would have produced).
    await client.query(
      `UPDATE course_sections s SET lesson_count = x.n FROM (SELECT section_id, count(*)::int AS n FROM lessons GROUP BY section_id) x WHERE s.id = x.section_id`,
    );
    await client.query(
      `UPDATE lessons l SET completion_count = x.n FROM (SELECT lesson_id, count(*)::int AS n FROM lesson_completions GROUP BY lesson_id) x WHERE l.id = x.lesson_id`,
    );
    await client.query(
      `UPDATE enrolments e SET completed_lessons = x.n, last_lesson_id = x.last_lesson, last_activity_at = GREATEST(e.last_activity_at, x.last_at),
              completed_at = CASE WHEN x.n = c.lesson_total THEN x.last_at END
         FROM (SELECT lc.user_id, lc.course_id, count(*)::int AS n, max(lc.completed_at) AS last_at,
                      (array_agg(lc.lesson_id ORDER BY lc.completed_at DESC))[1] AS last_lesson
                 FROM lesson_completions lc GROUP BY lc.user_id, lc.course_id) x,
              (SELECT course_id, count(*)::int AS lesson_total FROM lessons GROUP BY course_id) c
        WHERE e.user_id = x.user_id AND e.course_id = x.course_id AND c.course_id = e.course_id`,
    );
    await client.query(
      `INSERT INTO certificates (id, verification_id, course_id, user_id, learner_name, course_title, instructor_name, duration_seconds, issued_at)
       SELECT gen_random_uuid(), substr(md5(random()::text || e.id::text), 1, 24), e.course_id, e.user_id, e.learner_name,
              c.title, c.instructor_name, (SELECT COALESCE(sum(duration_seconds), 0)::int FROM lessons l WHERE l.course_id = c.id), e.completed_at
         FROM enrolments e JOIN courses c ON c.id = e.course_id
        WHERE e.completed_at IS NOT NULL`,
    );
    const certificates = await count('SELECT count(*) AS n FROM certificates');
    await client.query(
      `UPDATE courses c SET lesson_count = COALESCE(l.n, 0), total_duration_seconds = COALESCE(l.d, 0),
              enrolment_count = COALESCE(e.active, 0), learner_total = COALESCE(e.total, 0), completion_count = COALESCE(e.done, 0)
         FROM courses c2
         LEFT JOIN (SELECT course_id, count(*)::int AS n, sum(duration_seconds)::int AS d FROM lessons GROUP BY course_id) l ON l.course_id = c2.id
         LEFT JOIN (SELECT course_id, count(*) FILTER (WHERE status = 'active')::int AS active, count(*)::int AS total,
                           count(*) FILTER (WHERE completed_at IS NOT NULL)::int AS done
                      FROM enrolments GROUP BY course_id) e ON e.course_id = c2.id
        WHERE c.id = c2.id`,
    );
    await client.query(
      `INSERT INTO course_daily_stats (course_id, day, enrolled, left_count, completed)
       SELECT course_id, day, sum(enrolled)::int, sum(left_count)::int, sum(completed)::int FROM (
         SELECT course_id, (enrolled_at AT TIME ZONE 'UTC')::date AS day, 1 AS enrolled, 0 AS left_count, 0 AS completed FROM enrolments
         UNION ALL SELECT course_id, (left_at AT TIME ZONE 'UTC')::date, 0, 1, 0 FROM enrolments WHERE left_at IS NOT NULL
         UNION ALL SELECT course_id, (completed_at AT TIME ZONE 'UTC')::date, 0, 0, 1 FROM enrolments WHERE completed_at IS NOT NULL
       ) d GROUP BY course_id, day`,
    );
    step('counters, certificates, daily stats', `${certificates} certificates`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  for (const table of ['courses', 'course_sections', 'lessons', 'enrolments', 'lesson_completions', 'certificates', 'course_daily_stats']) {
    await client.query(`VACUUM (ANALYZE) ${table}`);
  }
  step('vacuum analyze');
  const totals = (await client.query<{ s: number; l: number; e: number; c: number; k: number }>(
    `SELECT (SELECT count(*)::int FROM course_sections) AS s, (SELECT count(*)::int FROM lessons) AS l, (SELECT count(*)::int FROM enrolments) AS e,
            (SELECT count(*)::int FROM lesson_completions) AS c, (SELECT count(*)::int FROM certificates) AS k`,
  )).rows[0]!;
  return { sections: totals.s, lessons: totals.l, enrolments: totals.e, completions: totals.c, certificates: totals.k, heavyLearnerId: heavy?.id ?? null };
}
