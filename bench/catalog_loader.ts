/**
 * Bulk-loads a synthetic catalogue into a migrated course-service database, the way one loads a large
 * data set into PostgreSQL: in one transaction, secondary indexes and constraints dropped, rows streamed
 * with COPY, then the indexes rebuilt in bulk (much faster than maintaining eleven indexes row by row),
 * the rating aggregates set from the reviews in one set-based UPDATE, and statistics gathered.
 *
 * The tsvector trigger (courses_before_write) stays on: COPY fires BEFORE INSERT row triggers, so every
 * course gets its search vector from the very expression the service relies on. Indexes and constraints
 * are recreated from their own catalogue definitions (pg_get_indexdef / pg_get_constraintdef), so the
 * result is exactly what the migrations made, whatever they contain.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import {
  makeCourses,
  makeReviews,
  makeUsers,
  pickInstructors,
  Rng,
  type CourseRecord,
  type GenerateOptions,
  type ReviewRecord,
  type UserRow,
} from './catalog_data.js';

export interface LoadOptions extends GenerateOptions {
  /** Called after each step with its wall time. */
  onStep?: (step: string, ms: number, detail?: string) => void;
}

export interface LoadResult {
  users: UserRow[];
  /** Course ids with their instructor's user id, in load order. */
  courses: { id: string; instructorId: string; status: CourseRecord['status'] }[];
  reviewCount: number;
  ratingShares: number[];
  steps: { step: string; ms: number; detail?: string }[];
}

const LOADED_TABLES = ['courses', 'reviews'];

/** COPY text format: backslash escapes for the four special characters, \N for NULL. */
function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return /[\\\t\n\r]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
    : value;
}

function arrayLiteral(items: readonly string[]): string {
  return `{${items.map((t) => (/^[a-z0-9-]+$/.test(t) ? t : `"${t.replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

function ts(ms: number | null): string {
  return ms === null ? '\\N' : new Date(ms).toISOString();
}

/** Joins rows into chunks of a few hundred kilobytes, so the stream is not one write per row. */
function* chunks<T>(rows: Iterable<T>, line: (row: T) => string, perChunk = 2000): Generator<string> {
  let buf: string[] = [];
  for (const row of rows) {
    buf.push(line(row));
    if (buf.length === perChunk) {
      yield buf.join('');
      buf = [];
    }
  }
  if (buf.length) yield buf.join('');
}

const COURSE_COLUMNS = `id, slug, title, summary, description, category, tags, level, language, duration_minutes,
  instructor_id, instructor_name, status, published_at, created_at, updated_at`;

function courseLine(users: UserRow[]): (c: CourseRecord) => string {
  return (c) => {
    const instructor = users[c.instructor]!;
    return (
      [
        c.id,
        copyText(c.slug),
        copyText(c.title),
        copyText(c.summary),
        copyText(c.description),
        copyText(c.category),
        copyText(arrayLiteral(c.tags)),
        c.level,
        c.language,
        String(c.durationMinutes),
        instructor.id,
        copyText(instructor.name),
        c.status,
        ts(c.publishedAt),
        ts(c.createdAt),
        ts(c.updatedAt),
      ].join('\t') + '\n'
    );
  };
}

const REVIEW_COLUMNS = `id, course_id, author_id, author_name, rating, title, body, status, response_body, responded_at,
  created_at, updated_at`;

function reviewLine(r: ReviewRecord): string {
  return (
    [
      r.id,
      r.courseId,
      r.authorId,
      copyText(r.authorName),
      String(r.rating),
      copyText(r.title),
      copyText(r.body),
      r.status,
      copyText(r.responseBody),
      ts(r.respondedAt),
      ts(r.createdAt),
      ts(r.updatedAt),
    ].join('\t') + '\n'
  );
}

async function copyInto(client: pg.ClientBase, table: string, columns: string, data: Iterable<string>): Promise<void> {
  const sink = client.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`));
  await pipeline(Readable.from(data), sink);
}

interface Definition {
  kind: 'index' | 'constraint';
  table: string;
  name: string;
  def: string;
}

/**
 * Secondary indexes, unique and foreign-key constraints of the loaded tables (primary keys stay: the
 * foreign key's validation and the aggregate UPDATE's join use them).
 */
async function secondaryDefinitions(client: pg.ClientBase): Promise<Definition[]> {
  const { rows: constraints } = await client.query<{ table: string; name: string; def: string }>(
    `SELECT conrelid::regclass::text AS table, conname AS name, pg_get_constraintdef(oid) AS def
       FROM pg_constraint
      WHERE conrelid = ANY($1::regclass[]) AND contype IN ('u', 'f')
      ORDER BY contype DESC, conname`,
    [LOADED_TABLES],
  );
  const { rows: indexes } = await client.query<{ table: string; name: string; def: string }>(
    `SELECT i.indrelid::regclass::text AS table, i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
       FROM pg_index i
      WHERE i.indrelid = ANY($1::regclass[])
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
      ORDER BY 2`,
    [LOADED_TABLES],
  );
  // 'u' sorts after 'f' descending: unique constraints first when recreating, foreign keys last.
  return [
    ...constraints.map((c) => ({ kind: 'constraint' as const, ...c })),
    ...indexes.map((i) => ({ kind: 'index' as const, ...i })),
  ];
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Generates the catalogue and loads it into `client`'s database, which must be migrated and hold no
 * courses. Runs in one transaction (a failure leaves the database as it was), then VACUUM ANALYZE.
 */
export async function loadCatalog(client: pg.ClientBase, options: LoadOptions): Promise<LoadResult> {
  const steps: LoadResult['steps'] = [];
  let t0 = performance.now();
  const step = (name: string, detail?: string) => {
    const ms = performance.now() - t0;
    steps.push({ step: name, ms, detail });
    options.onStep?.(name, ms, detail);
    t0 = performance.now();
  };

  const rng = new Rng(options.seed);
  const users = makeUsers(options, rng);
  const instructors = pickInstructors(users.length, rng);
  const courses = makeCourses(options, users, instructors, rng).sort((a, b) => a.createdAt - b.createdAt);
  step('generate courses', `${courses.length} courses, ${users.length} users, ${instructors.length} instructors`);

  const { rows: existing } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT 1 FROM courses LIMIT 1) x');
  if (existing[0]!.n > 0) throw new Error('The courses table is not empty; load into a fresh database (generate.ts --reset drops it)');

  const stars = [0, 0, 0, 0, 0];
  let reviewCount = 0;
  await client.query('BEGIN');
  try {
    // Index builds sort in memory when they can; parallel workers match the 2-core machines we run on.
    await client.query(`SET LOCAL maintenance_work_mem = '512MB'`);
    await client.query(`SET LOCAL max_parallel_maintenance_workers = 2`);
    const defs = await secondaryDefinitions(client);
    for (const d of [...defs].reverse()) {
      await client.query(
        d.kind === 'constraint' ? `ALTER TABLE ${d.table} DROP CONSTRAINT ${quoteIdent(d.name)}` : `DROP INDEX ${d.name}`,
      );
    }
    step('drop secondary indexes', `${defs.length} indexes and constraints`);

    await copyInto(client, 'courses', COURSE_COLUMNS, chunks(courses, courseLine(users), 1000));
    step('copy courses (trigger builds search_vector)', `${courses.length} rows`);

    const counted = (function* () {
      for (const r of makeReviews(options, users, courses, rng)) {
        reviewCount++;
        stars[r.rating - 1]!++;
        yield r;
      }
    })();
    await copyInto(client, 'reviews', REVIEW_COLUMNS, chunks(counted, reviewLine, 5000));
    step('generate + copy reviews', `${reviewCount} rows`);

    // A one-off load: the service itself only ever applies O(1) deltas per review write.
    const { rowCount } = await client.query(
      `UPDATE courses c SET
         rating_count = a.n, rating_sum = a.s,
         rating_1 = a.r1, rating_2 = a.r2, rating_3 = a.r3, rating_4 = a.r4, rating_5 = a.r5,
         -- Learners (sort=popular): about three active and four ever per reviewer, as counters only
         -- (no enrolment rows: the catalogue reads never look at them).
         enrolment_count = a.n * 3, learner_total = a.n * 4
       FROM (
         SELECT course_id, count(*)::int AS n, sum(rating)::int AS s,
                count(*) FILTER (WHERE rating = 1)::int AS r1, count(*) FILTER (WHERE rating = 2)::int AS r2,
                count(*) FILTER (WHERE rating = 3)::int AS r3, count(*) FILTER (WHERE rating = 4)::int AS r4,
                count(*) FILTER (WHERE rating = 5)::int AS r5
           FROM reviews WHERE status = 'visible' GROUP BY course_id
       ) a
       WHERE c.id = a.course_id`,
    );
    step('set rating aggregates (one UPDATE)', `${rowCount ?? 0} courses`);

    for (const d of defs) {
      await client.query(d.kind === 'constraint' ? `ALTER TABLE ${d.table} ADD CONSTRAINT ${quoteIdent(d.name)} ${d.def}` : d.def);
    }
    step('rebuild indexes and constraints');
    await client.query('COMMIT');
    step('commit');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }

  // Outside the transaction: VACUUM sets the visibility map (index-only scans) and drops the dead
  // tuples the aggregate UPDATE left; ANALYZE gives the planner its statistics.
  await client.query('VACUUM (ANALYZE) courses');
  await client.query('VACUUM (ANALYZE) reviews');
  step('vacuum analyze');
  // What the README's operations section asks after a bulk import (migration 0017): the load filled
  // course_search in publish order, and a search's matches then lie on up to three times as many pages.
  await client.query('CLUSTER course_search');
  await client.query('VACUUM (ANALYZE) course_search, course_rankings');
  step('cluster course_search by category');

  return {
    users,
    courses: courses.map((c) => ({ id: c.id, instructorId: users[c.instructor]!.id, status: c.status })),
    reviewCount,
    ratingShares: stars.map((n) => (reviewCount ? n / reviewCount : 0)),
    steps,
  };
}
