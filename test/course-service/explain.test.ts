/**
 * Query plans of the catalogue's read paths on a mid-size catalogue (20,000 courses, 60,000 reviews,
 * loaded with the benchmark's COPY loader, then ANALYZE): the real services run every list sort,
 * filter, search, review sort and the author's reviews through a database wrapper that records each
 * statement with its parameters, and `EXPLAIN (FORMAT JSON)` of each recorded statement must have no
 * `Seq Scan` on `courses`, `course_search` or `reviews`. Plans are compared, not timed.
 *
 * "No Seq Scan" alone misses a dropped index whose fallback is a walk of another index with a filter
 * (without courses_instructor_idx, `instructorId` walks courses_published_newest_idx and discards
 * ~2,400 rows; without reviews_author_newest_idx, an author's reviews scan all of
 * reviews_course_author_key). So the reads that have exactly one right index also name it.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog, type LoadResult } from '../../bench/catalog_loader.js';
import { recordingDatabase, type RecordedStatement } from '../../bench/recording_db.js';
import type { CourseListInput } from '../../internal/course-service/models/course.js';
import type { CourseReviewListInput } from '../../internal/course-service/models/review.js';
import { CourseService } from '../../internal/course-service/services/course_service.js';
import { ReviewService } from '../../internal/course-service/services/review_service.js';
import { EnrolmentService } from '../../internal/course-service/services/enrolment_service.js';
import type { Principal } from '../../internal/shared/utils/jwt.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { planNodes, type PlanNode } from '../../bench/plan_nodes.js';

/**
 * The index a read must use, by label: the sort's own index (the category's copy with a category),
 * the instructor and author indexes, the search index for relevance, one of the three keyset indexes
 * of a course's reviews.
 */
function expectedIndex(label: string): RegExp | undefined {
  const sorted = /^list (category )?sort=(\w+)/.exec(label);
  // sort=popular and sort=rating order on the narrow course_rankings table (migrations 0015, 0016).
  if (sorted) {
    const table = sorted[2] === 'popular' || sorted[2] === 'rating' ? 'course_rankings' : 'courses';
    return new RegExp(`^${table}_${sorted[1] ? 'category' : 'published'}_${sorted[2]}_idx$`);
  }
  if (label.startsWith('list instructorId') || label.startsWith('instructor courses')) return /^courses_instructor_idx$/;
  // Relevance matches on the narrow course_search table, words and facets in one index; with an
  // instructor, on that instructor's courses.
  if (/^search (relevance|two words|rare phrase|category|level|language|tag|facets|prefix|russian)/.test(label)) return /^course_search_match_idx$/;
  if (label.startsWith('search instructorId')) return /^courses_instructor_idx$/;
  if (label === 'course by id') return /^courses_pkey$/;
  if (label === 'course by slug') return /^courses_slug_key$/;
  if (label.startsWith('reviews ')) return /^reviews_course_(newest|rating_desc|rating_asc)_idx$/;
  if (label.startsWith('author reviews')) return /^reviews_author_newest_idx$/;
  return undefined;
}

function principal(sub: string): Principal {
  return { sub, role: 'student', name: 'Reader', emailVerified: true, sid: 'session', jti: 'jti', exp: Math.floor(Date.now() / 1000) + 900 };
}

describe.skipIf(!hasPostgres)('query plans of the catalogue reads (20k courses, 60k reviews)', () => {
  let database: TestDatabase;
  let loaded: LoadResult;
  const recorded: { label: string; statement: RecordedStatement }[] = [];
  let label = '';
  let courses: CourseService;
  let reviews: ReviewService;

  beforeAll(async () => {
    database = await createTestDatabase('course-service');
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      loaded = await loadCatalog(client, { users: 10_000, courses: 20_000, reviews: 60_000, seed: 7, now: Date.now() });
    } finally {
      await client.end();
    }
    const db = recordingDatabase(database.db, (statement) => recorded.push({ label, statement }));
    courses = new CourseService({ db });
    reviews = new ReviewService({ db });
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
  });

  /** Runs `fn` with its statements labelled `name`; returns what it returned. */
  async function capture<T>(name: string, fn: () => Promise<T>): Promise<T> {
    label = name;
    try {
      return await fn();
    } finally {
      label = '';
    }
  }

  /** The first page and, when there is one, the second (keyset predicates plan differently). */
  async function listTwoPages(name: string, query: CourseListInput): Promise<number> {
    const first = await capture(name, () => courses.list(query));
    if (first.nextCursor) await capture(`${name}, page 2`, () => courses.list({ ...query, cursor: first.nextCursor! }));
    return first.items.length;
  }

  async function reviewsTwoPages(name: string, courseId: string, query: CourseReviewListInput): Promise<number> {
    const first = await capture(name, () => reviews.listByCourse(undefined, courseId, query));
    if (first.nextCursor) await capture(`${name}, page 2`, () => reviews.listByCourse(undefined, courseId, { ...query, cursor: first.nextCursor! }));
    return first.items.length;
  }

  it('the loader leaves course_search in category order, as the operations guide asks after a bulk import (migration 0017)', async () => {
    const { rows } = await database.db.query<{ correlation: number }>(
      `SELECT correlation FROM pg_stats WHERE tablename = 'course_search_category_idx'`,
    );
    expect(rows[0]!.correlation).toBeGreaterThan(0.99);
    const { rows: runs } = await database.db.query<{ runs: number; categories: number }>(
      `SELECT count(*) FILTER (WHERE cat IS DISTINCT FROM prev)::int AS runs, count(DISTINCT cat)::int AS categories
         FROM (SELECT facets[1] AS cat, lag(facets[1]) OVER (ORDER BY ctid) AS prev FROM course_search) x`,
    );
    // One run of rows per category: nothing interleaves.
    expect(runs[0]!.runs).toBe(runs[0]!.categories);
  });

  it('runs every catalogue read the services offer, and the review writes, without a sequential scan of courses or reviews', async () => {
    const { rows: facts } = await database.db.query<{ category: string; tag: string; instructor: string; popular: string; few: string }>(
      `SELECT (SELECT category FROM courses WHERE status = 'published' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) AS category,
              (SELECT t FROM courses, unnest(tags) t WHERE status = 'published' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) AS tag,
              (SELECT instructor_id FROM courses GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)::text AS instructor,
              (SELECT id FROM courses WHERE status = 'published' ORDER BY rating_count DESC LIMIT 1)::text AS popular,
              (SELECT id FROM courses WHERE status = 'published' AND rating_count BETWEEN 1 AND 5 LIMIT 1)::text AS few`,
    );
    const f = facts[0]!;
    const { rows: authors } = await database.db.query<{ author_id: string }>(
      `SELECT author_id FROM reviews GROUP BY author_id ORDER BY count(*) DESC LIMIT 1`,
    );
    const author = authors[0]!.author_id;

    // Every sort without filters, and with the category facet (which has its own indexes).
    for (const sort of ['newest', 'rating', 'popular', 'title'] as const) {
      expect(await listTwoPages(`list sort=${sort}`, { sort })).toBe(20);
      expect(await listTwoPages(`list category sort=${sort}`, { category: f.category, sort })).toBe(20);
    }
    // Each filter alone (default sort), and a few realistic combinations.
    await listTwoPages('list level', { level: 'advanced' });
    await listTwoPages('list language', { language: 'de' });
    await listTwoPages('list tag', { tag: f.tag });
    await listTwoPages('list instructorId', { instructorId: f.instructor });
    await listTwoPages('list minRating', { minRating: 4.5 });
    await listTwoPages('list category+level sort=rating', { category: f.category, level: 'beginner', sort: 'rating' });
    await listTwoPages('list language+level sort=popular', { language: 'es', level: 'intermediate', sort: 'popular' });
    await listTwoPages('list tag+minRating sort=rating', { tag: f.tag, minRating: 4, sort: 'rating' });
    // Search: relevance (the default with q), other sorts, with a filter, and a common and a rarer query.
    await listTwoPages('search relevance', { q: 'python' });
    await listTwoPages('search two words', { q: 'machine learning' });
    await listTwoPages('search sort=newest', { q: 'kubernetes', sort: 'newest' });
    await listTwoPages('search sort=rating', { q: 'react', sort: 'rating' });
    await listTwoPages('search category', { q: 'postgresql', category: 'databases' });
    await listTwoPages('search level', { q: 'python', level: 'beginner' });
    await listTwoPages('search language', { q: 'react', language: 'de' });
    await listTwoPages('search tag', { q: 'kubernetes', tag: f.tag });
    await listTwoPages('search facets', { q: 'machine learning', category: f.category, level: 'advanced', language: 'en' });
    await listTwoPages('search instructorId', { q: 'python', instructorId: f.instructor });
    await listTwoPages('search minRating', { q: 'python', minRating: 4 });
    await listTwoPages('search rare phrase', { q: '"penetration testing" -cloud' });
    // The last word as a prefix (typing), alone and after a word; the category in another letter case.
    await listTwoPages('search prefix', { q: 'kube' });
    await listTwoPages('search prefix after a word', { q: 'machine lear' });
    await listTwoPages('search prefix category', { q: 'pyth', category: f.category.toUpperCase() });
    await listTwoPages('list category sort=newest, upper case', { category: f.category.toUpperCase(), sort: 'newest' });
    await listTwoPages('list category sort=title, upper case', { category: f.category.toUpperCase(), sort: 'title' });
    // Russian (non-ASCII text: each row matched with its own language's parse), alone, prefixed, filtered, other sorts.
    expect(await listTwoPages('search russian', { q: 'практические курсы' })).toBeGreaterThan(0);
    await listTwoPages('search russian prefix', { q: 'продвинут' });
    await listTwoPages('search russian language', { q: 'основы', language: 'ru' });
    await listTwoPages('search sort=newest, russian', { q: 'курс', sort: 'newest' });
    await listTwoPages('search minRating, russian', { q: 'курс', minRating: 4 });

    // An instructor's own courses (every status, or one), the most prolific instructor's.
    const teacher = { ...principal(f.instructor), role: 'instructor' as const };
    for (const status of [undefined, 'draft', 'published'] as const) {
      const name = `instructor courses status=${status ?? 'any'}`;
      const first = await capture(name, () => courses.listOwn(teacher, { status, limit: 2 }));
      if (first.nextCursor) await capture(`${name}, page 2`, () => courses.listOwn(teacher, { status, limit: 2, cursor: first.nextCursor! }));
      if (status === undefined) expect(first.nextCursor).not.toBeNull();
    }

    // One course, by id and by slug.
    const one = await capture('course by id', () => courses.get(undefined, f.popular));
    await capture('course by slug', () => courses.get(undefined, one.slug));

    // A course's reviews in every sort, with the rating filter, on a popular and a quiet course.
    for (const courseId of [f.popular, f.few]) {
      for (const sort of ['newest', 'rating_desc', 'rating_asc'] as const) {
        await reviewsTwoPages(`reviews sort=${sort}`, courseId, { sort, limit: 3 });
        await reviewsTwoPages(`reviews rating=5 sort=${sort}`, courseId, { sort, rating: 5, limit: 3 });
      }
    }
    expect(await reviewsTwoPages('reviews newest (popular course)', f.popular, { limit: 20 })).toBe(20);

    // An author's reviews: as the public sees them (joined with courses) and as the author does.
    const pub = await capture('author reviews, public', () => reviews.listByAuthor(undefined, { authorId: author, limit: 2 }));
    if (pub.nextCursor) await capture('author reviews, public, page 2', () => reviews.listByAuthor(undefined, { authorId: author, limit: 2, cursor: pub.nextCursor! }));
    const own = await capture('author reviews, own', () => reviews.listByAuthor(principal(author), { authorId: author, limit: 2 }));
    if (own.nextCursor) await capture('author reviews, own, page 2', () => reviews.listByAuthor(principal(author), { authorId: author, limit: 2, cursor: own.nextCursor! }));
    expect(own.items.length).toBeGreaterThan(0);

    // The review writes: create (one statement: insert, aggregate, outbox), edit, delete, on a popular
    // course, by a new author. Their statements are EXPLAINed too (without ANALYZE: nothing runs again).
    const writer = principal(randomUUID());
    // Reviews come from active learners (reviews.requireEnrolment): the writer enrols first, outside the capture.
    await new EnrolmentService({ db: database.db }).enrol(writer, f.popular);
    const written = await capture('review write: create', () => reviews.create(writer, f.popular, { rating: 4, title: 'Plan check', body: 'Written by the EXPLAIN test.' }));
    await capture('review write: edit', () => reviews.update(writer, written.id, { rating: 2 }));
    await capture('review write: delete', () => reviews.delete(writer, written.id));

    // EXPLAIN each distinct statement as it was run (the same parameters: custom plans, like the driver's).
    const seen = new Set<string>();
    let writesExplained = 0;
    const failures: string[] = [];
    let explained = 0;
    for (const { label: name, statement } of recorded) {
      const isWrite = name.startsWith('review write');
      if (!name || !(isWrite ? /^\s*(SELECT|WITH|INSERT|UPDATE|DELETE|\()/i : /^\s*(SELECT|\()/i).test(statement.sql)) continue;
      if (isWrite) writesExplained++;
      const key = statement.sql + JSON.stringify(statement.params);
      if (seen.has(key)) continue;
      seen.add(key);
      const { rows } = await database.db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${statement.sql}`, statement.params);
      explained++;
      const plan = rows[0]!['QUERY PLAN'][0].Plan;
      const scans = planNodes(plan).filter((n) => n['Node Type'] === 'Seq Scan' && ['courses', 'reviews', 'course_search'].includes(n['Relation Name'] ?? ''));
      const where = `\n  ${statement.sql.replace(/\s+/g, ' ')}\n  params ${JSON.stringify(statement.params)}`;
      if (scans.length) failures.push(`${name}: Seq Scan on ${scans.map((s) => s['Relation Name']).join(', ')}${where}`);
      // A course's reviews also look the course up by primary key first: only the reviews statements count.
      const wanted = expectedIndex(name);
      const indexes = planNodes(plan).flatMap((n) => (n['Index Name'] ? [n['Index Name']] : []));
      const reviewsOnly = name.startsWith('reviews ') && !/\bFROM reviews\b/.test(statement.sql);
      if (wanted && !reviewsOnly && !indexes.some((i) => wanted.test(i))) {
        failures.push(`${name}: expected an index matching ${wanted}, plan uses ${indexes.join(', ') || 'no index'}${where}`);
      }
    }
    expect(loaded.courses.length).toBe(20_000);
    expect(explained).toBeGreaterThan(50);
    expect(writesExplained).toBeGreaterThanOrEqual(3);
    expect(failures, failures.join('\n\n')).toEqual([]);
  });
});
