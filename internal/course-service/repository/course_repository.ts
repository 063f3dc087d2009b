/**
 * SQL for courses, in the repository style of docs/ARCHITECTURE.md ("Data layer"): the executor is the
 * last, optional argument (a service passes its transaction), not found is `null`, rows come out as
 * stored, and a duplicate slug is translated here, into 409 `slug_taken`.
 */
import { PgCode, pgConstraint, pgErrorCode, type Queryable } from '../../shared/utils/database.js';
import { SqlParams } from '../../shared/utils/sql.js';
import { COURSE_FIELD_COLUMNS, type CourseFields, type CourseLevel, type CourseRow, type CourseStatus } from '../models/course.js';
import { slugTaken } from '../models/errors.js';

/** Every column except the search vector, which no one reads back. */
const COLUMNS = `c.id, c.slug, c.title, c.summary, c.description, c.category, c.tags, c.level, c.language,
  c.duration_minutes, c.instructor_id, c.instructor_name, c.status, c.published_at, c.rating_count,
  c.rating_sum, c.rating_1, c.rating_2, c.rating_3, c.rating_4, c.rating_5, c.rating_avg, c.enrolment_count, c.version,
  c.created_at, c.updated_at, c.lesson_count, c.total_duration_seconds`;
const RETURNING = COLUMNS.replace(/c\./g, '');

/** A new course: every plain field (COURSE_FIELD_COLUMNS); the rest are the table's defaults. */
export type NewCourse = CourseFields;

/** The fields an update may change. */
export type CourseChanges = Partial<Omit<CourseFields, 'id' | 'instructorId'>>;

const SLUG_KEY = 'courses_slug_key';

/** A duplicate slug as the domain error; anything else as it came. */
function translate(err: unknown): unknown {
  return pgErrorCode(err) === PgCode.uniqueViolation && pgConstraint(err) === SLUG_KEY ? slugTaken() : err;
}

/** `$n` for a course field's value (tags are a text[] the driver sends as an array). */
function fieldParam(sql: SqlParams, field: keyof CourseFields, value: unknown): string {
  return sql.add(value, field === 'tags' ? 'text[]' : undefined);
}

/** The sorts as the repository runs them; `relevance` needs a query. */
export type CourseListSort = 'relevance' | 'newest' | 'rating' | 'popular' | 'title';

export interface CourseListFilter {
  q?: string;
  category?: string;
  level?: CourseLevel;
  language?: string;
  tag?: string;
  instructorId?: string;
  minRating?: number;
}

export type CourseListRow = CourseRow & { rank: string | null };

/** A change of the rating aggregate: +1/-1 count, the rating sum and one step per star bucket. */
export interface RatingDelta {
  count: number;
  sum: number;
  /** Changes of rating_1..rating_5. */
  buckets: [number, number, number, number, number];
}

export interface RatedCourse {
  id: string;
  title: string;
  slug: string;
  instructor_id: string;
}

export class CourseRepository {
  constructor(private readonly db: Queryable) {}

  /** 409 `slug_taken` when the slug is in use. Publishing at once stamps published_at. */
  async insert(course: NewCourse, q: Queryable = this.db): Promise<CourseRow> {
    const sql = new SqlParams();
    const fields = Object.keys(COURSE_FIELD_COLUMNS) as (keyof CourseFields)[];
    const values = fields.map((f) => fieldParam(sql, f, course[f]));
    const status = values[fields.indexOf('status')]!;
    try {
      const { rows } = await q.query<CourseRow>(
        `INSERT INTO courses (${fields.map((f) => COURSE_FIELD_COLUMNS[f]).join(', ')}, published_at)
         VALUES (${values.join(', ')}, CASE WHEN ${status} = 'published' THEN now() END)
         RETURNING ${RETURNING}`,
        sql.values,
      );
      return rows[0]!;
    } catch (err) {
      throw translate(err);
    }
  }

  async findById(id: string, q: Queryable = this.db): Promise<CourseRow | null> {
    const { rows } = await q.query<CourseRow>(`SELECT ${COLUMNS} FROM courses c WHERE c.id = $1`, [id]);
    return rows[0] ?? null;
  }

  /** findById that locks the row (FOR UPDATE) until `tx` ends. */
  async findForUpdate(id: string, tx: Queryable): Promise<CourseRow | null> {
    const { rows } = await tx.query<CourseRow>(`SELECT ${COLUMNS} FROM courses c WHERE c.id = $1 FOR UPDATE`, [id]);
    return rows[0] ?? null;
  }

  async findBySlug(slug: string, q: Queryable = this.db): Promise<CourseRow | null> {
    const { rows } = await q.query<CourseRow>(`SELECT ${COLUMNS} FROM courses c WHERE c.slug = $1`, [slug]);
    return rows[0] ?? null;
  }

  /** Slugs equal to `base` or `base-<anything>`, for picking a free numeric suffix. */
  async slugsWithPrefix(base: string, q: Queryable = this.db): Promise<string[]> {
    // `base` is [a-z0-9-] only, so it has no LIKE wildcards to escape.
    const { rows } = await q.query<{ slug: string }>(`SELECT slug FROM courses WHERE slug = $1 OR slug LIKE $2`, [base, `${base}-%`]);
    return rows.map((r) => r.slug);
  }

  /**
   * Applies `changes` (at least one) and touches updated_at. Publishing stamps published_at the first
   * time only, so re-publishing an archived course keeps its original date. 409 `slug_taken` when the
   * new slug is in use.
   */
  async update(id: string, changes: CourseChanges, q: Queryable = this.db): Promise<CourseRow | null> {
    const sql = new SqlParams(id);
    const sets: string[] = ['updated_at = now()'];
    for (const [field, value] of Object.entries(changes) as [keyof CourseChanges, unknown][]) {
      if (value !== undefined) sets.push(`${COURSE_FIELD_COLUMNS[field]} = ${fieldParam(sql, field, value)}`);
    }
    if (changes.status === 'published') sets.push('published_at = COALESCE(published_at, now())');
    try {
      const { rows } = await q.query<CourseRow>(`UPDATE courses SET ${sets.join(', ')} WHERE id = $1 RETURNING ${RETURNING}`, sql.values);
      return rows[0] ?? null;
    } catch (err) {
      throw translate(err);
    }
  }

  async delete(id: string, q: Queryable = this.db): Promise<boolean> {
    const { rowCount } = await q.query('DELETE FROM courses WHERE id = $1', [id]);
    return rowCount > 0;
  }

  /**
   * One keyset page of published courses (`limit` rows; ask for one more to learn whether a next page
   * exists). `after` holds the cursor values of the previous page's last row, in the order of the
   * sort's keys (see `courseKeysetValues`). Values are always parameters; only fixed SQL is spliced.
   */
  async listPublished(
    filter: CourseListFilter,
    sort: CourseListSort,
    after: readonly (string | number)[] | undefined,
    limit: number,
    q: Queryable = this.db,
  ): Promise<CourseListRow[]> {
    if (sort === 'relevance') {
      if (filter.q === undefined) throw new Error('relevance sort needs a query');
      return this.listByRelevance({ ...filter, q: filter.q }, after, limit, q);
    }
    const sql = new SqlParams();
    const p = sql.adder;
    // sort=popular and sort=rating read their order from course_rankings (migrations 0015, 0016), a narrow
    // copy of the keys; except for one instructor's courses, which courses_instructor_idx finds and a sort
    // orders (the same values on the course row: walking a whole order for one instructor's few took 30-40 ms).
    const byRankings = (sort === 'popular' || sort === 'rating') && filter.instructorId === undefined;
    let from = byRankings ? 'courses c JOIN course_rankings rk ON rk.course_id = c.id' : 'courses c';
    const where = [`c.status = 'published'`];
    let rank = 'NULL::text';
    if (filter.q !== undefined) {
      const search = searchQuery(filter.q, p);
      from += `, ${search.from}`;
      where.push(search.match('c.search_vector', `c.language = 'ru'`));
      rank = `${search.rank('c.search_vector', `c.language = 'ru'`)}::text`;
    }
    // On course_rankings the category and the minimum rating are conditions on its index (below).
    where.push(...courseFilterTerms(byRankings ? { ...filter, category: undefined, minRating: undefined } : filter, 'c', p));
    if (byRankings) {
      where.push('rk.published');
      if (filter.category !== undefined) where.push(`rk.category_key = lower(${p(filter.category)})`);
      if (filter.minRating !== undefined) where.push(`rk.rating_avg >= ${p(filter.minRating)}::numeric`);
    }
    // The keys of the order and of the keyset: the narrow row's or the course row's (the same values).
    const [keyRow, keyId] = byRankings ? ['rk', 'rk.course_id'] : ['c', 'c.id'];

    let orderBy: string;
    switch (sort) {
      case 'newest':
        orderBy = 'c.published_at DESC, c.id DESC';
        if (after) where.push(`(c.published_at, c.id) < (${p(after[0])}::timestamptz, ${p(after[1])}::uuid)`);
        break;
      case 'rating':
        orderBy = `${keyRow}.rating_avg DESC, ${keyRow}.rating_count DESC, ${keyId} DESC`;
        if (after) {
          where.push(`(${keyRow}.rating_avg, ${keyRow}.rating_count, ${keyId}) < (${p(after[0])}::numeric, ${p(after[1])}::int, ${p(after[2])}::uuid)`);
        }
        break;
      case 'popular':
        // Active learners (by delta with each enrolment), then reviews.
        orderBy = `${keyRow}.enrolment_count DESC, ${keyRow}.rating_count DESC, ${keyId} DESC`;
        if (after) {
          where.push(`(${keyRow}.enrolment_count, ${keyRow}.rating_count, ${keyId}) < (${p(after[0])}::int, ${p(after[1])}::int, ${p(after[2])}::uuid)`);
        }
        break;
      case 'title':
        orderBy = 'c.title ASC, c.id ASC';
        if (after) where.push(`(c.title, c.id) > (${p(after[0])}::text, ${p(after[1])}::uuid)`);
        break;
    }
    const { rows } = await q.query<CourseListRow>(
      `SELECT ${COLUMNS}, ${rank} AS rank FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${orderBy} LIMIT ${p(limit)}`,
      sql.values,
    );
    return rows;
  }

  /**
   * One keyset page of an instructor's own courses, every status or one, newest created first: a range
   * of courses_instructor_idx (instructor_id, created_at DESC, id DESC); a status filter discards rows
   * of that one instructor only. `after` is [created_at, id] of the previous page's last row.
   */
  async listByInstructor(
    instructorId: string,
    status: CourseStatus | undefined,
    after: readonly (string | number)[] | undefined,
    limit: number,
    q: Queryable = this.db,
  ): Promise<CourseRow[]> {
    const sql = new SqlParams(instructorId);
    const p = sql.adder;
    const where = ['c.instructor_id = $1::uuid'];
    if (status !== undefined) where.push(`c.status = ${p(status)}`);
    if (after) where.push(`(c.created_at, c.id) < (${p(after[0])}::timestamptz, ${p(after[1])}::uuid)`);
    const { rows } = await q.query<CourseRow>(
      `SELECT ${COLUMNS} FROM courses c WHERE ${where.join(' AND ')} ORDER BY c.created_at DESC, c.id DESC LIMIT ${p(limit)}`,
      sql.values,
    );
    return rows;
  }

  /**
   * The relevance sort: match and rank on course_search (published courses only: the vector and the
   * filterable values, ~0.9 kB a row against ~1.8 kB on courses), then read the page's courses alone.
   * Words, category, level, language and tag are one scan of course_search_match_idx, so only the rows
   * that pass every filter are ranked. With instructorId or minRating it ranks on `courses` instead
   * (course_search has neither). Keys: ts_rank of the course's vector (the same on both tables), then
   * id, so a cursor means the same on either path.
   */
  private async listByRelevance(
    filter: CourseListFilter & { q: string },
    after: readonly (string | number)[] | undefined,
    limit: number,
    q: Queryable,
  ): Promise<CourseListRow[]> {
    const sql = new SqlParams();
    const p = sql.adder;
    // course_search holds neither the instructor nor the rating: with either, rank on courses, where
    // the instructor's few courses come from courses_instructor_idx and the rating is on the row.
    const onCourses = filter.instructorId !== undefined || filter.minRating !== undefined;
    const search = searchQuery(filter.q, p);
    const from = `${search.from}, ${onCourses ? 'courses' : 'course_search'} s`;
    const id = onCourses ? 's.id' : 's.course_id';
    // Russian on course_search is a facet, so the Russian arm of the match is one index condition.
    const isRussian = onCourses ? `s.language = 'ru'` : `s.facets @> ARRAY['lang:ru']`;
    const rank = search.rank('s.search_vector', isRussian);
    const where = [search.match('s.search_vector', isRussian)];
    if (onCourses) {
      where.push(`s.status = 'published'`);
      where.push(...courseFilterTerms(filter, 's', p));
    } else {
      // The same strings as course_search_facets() (migrations 0007, 0008) makes of a course.
      const facets: string[] = [];
      if (filter.category !== undefined) facets.push(`'cat:' || lower(${p(filter.category)})`);
      if (filter.level !== undefined) facets.push(`'lvl:' || ${p(filter.level)}`);
      if (filter.language !== undefined) facets.push(`'lang:' || ${p(filter.language)}`);
      if (filter.tag !== undefined) facets.push(`'tag:' || ${p(filter.tag)}`);
      if (facets.length) where.push(`s.facets @> ARRAY[${facets.join(', ')}]`);
    }
    // The rank travels as the text PostgreSQL printed (shortest exact float4), so it compares equal.
    if (after) where.push(`(${rank}, ${id}) < (${p(after[0])}::real, ${p(after[1])}::uuid)`);
    const { rows } = await q.query<CourseListRow>(
      `SELECT ${COLUMNS}, top.rank::text AS rank
         FROM (SELECT ${id} AS course_id, ${rank} AS rank
                 FROM ${from}
                WHERE ${where.join(' AND ')}
                ORDER BY rank DESC, ${id} DESC LIMIT ${p(limit)}) top
         JOIN courses c ON c.id = top.course_id
        ORDER BY top.rank DESC, c.id DESC`,
      sql.values,
    );
    return rows;
  }

  /**
   * How closely course_search's rows follow category order (migration 0017): PostgreSQL's correlation
   * of the physical order with course_search_category_idx, from the table's last ANALYZE. 1 right after
   * `CLUSTER course_search`; null before any statistics.
   */
  async searchOrderCorrelation(q: Queryable = this.db): Promise<number | null> {
    const { rows } = await q.query<{ correlation: number | null }>(
      `SELECT correlation FROM pg_stats WHERE schemaname = current_schema() AND tablename = 'course_search_category_idx'`,
    );
    return rows[0]?.correlation ?? null;
  }

  /** Categories that have published courses, with their counts, by name. */
  async categories(q: Queryable = this.db): Promise<{ name: string; course_count: number }[]> {
    const { rows } = await q.query<{ name: string; course_count: number }>(
      `SELECT category AS name, count(*)::int AS course_count
         FROM courses WHERE status = 'published'
        GROUP BY category ORDER BY category`,
    );
    return rows;
  }

  /**
   * Moves the rating aggregate by `delta` in one O(1) UPDATE (the row lock it takes orders concurrent
   * review writes on one course). `requirePublished` makes it a no-op on a course that is no longer
   * published, so a review cannot land on a course unpublished meanwhile. Null when nothing matched.
   */
  async applyRatingDelta(courseId: string, delta: RatingDelta, options: { requirePublished?: boolean } = {}, q: Queryable = this.db): Promise<RatedCourse | null> {
    const { rows } = await q.query<RatedCourse>(
      `UPDATE courses SET ${ratingDeltaSet(2)}
       WHERE id = $1${options.requirePublished ? ` AND status = 'published'` : ''}
       RETURNING id, title, slug, instructor_id`,
      [courseId, ...ratingDeltaParams(delta)],
    );
    return rows[0] ?? null;
  }
}

/**
 * The shortest last word matched as a prefix. A GIN partial match reads the posting lists of every
 * lexeme under the prefix and ranks every row they hold: `p:*` is nearly the whole catalogue, the
 * first keystroke of every search. Shorter words match whole (`go`, `c`, `ai`), as before prefixes.
 */
const MIN_PREFIX = 3;

/**
 * What people type into a search box, split for prefix matching: `rest` goes to websearch_to_tsquery
 * (phrases, -not, or), `prefix` is the last word, matched as a prefix (`zymur` finds "zymurgy") while it
 * is being typed. Only a plain last word is a prefix: one that follows a space (or starts `q`), is
 * letters, marks and digits only (so nothing in it is tsquery syntax), at least MIN_PREFIX characters
 * long, and is not inside an open "phrase", after `-` (a prefix exclusion would exclude too much) or
 * after `or` (websearch's OR binds to it, which an AND with the prefix would turn around). Anything
 * else is searched as written.
 */
export function splitSearchText(q: string): { rest: string; prefix: string | undefined } {
  const m = /(^|\s)([\p{L}\p{M}\p{N}]+)$/u.exec(q);
  if (!m || [...m[2]!].length < MIN_PREFIX) return { rest: q, prefix: undefined };
  const rest = q.slice(0, m.index + m[1]!.length);
  const quotes = rest.split('"').length - 1;
  if (quotes % 2 === 1 || /(^|\s)or\s+$/i.test(rest)) return { rest: q, prefix: undefined };
  return { rest, prefix: m[2]! };
}

/**
 * A run of dashes (with or without spaces between) means what one dash means to websearch_to_tsquery
 * (exclude the next word), but each one stacks an operator: 33 of them overflow PostgreSQL's tsquery
 * stack ("tsquery stack too small", a 500). One dash stands for the run.
 */
export function collapseDashes(q: string): string {
  return q.replace(/-(?:[\s-]*-)+/g, '-');
}

/**
 * A FROM item `name`: the tsquery of `q` in one text-search configuration, websearch syntax, with the
 * last word as a prefix when `splitSearchText` finds one (`to_tsquery` gets letters and digits only,
 * plus `:*`). A prefix that is a stop word is dropped by to_tsquery, and `&&` with an empty query is the
 * other side. A function in FROM, so it is evaluated once per statement (with the parameters in the
 * plan, folded to a constant), as before prefixes: `tsquery_and` is the function of the `&&` operator,
 * which FROM cannot hold. (A subquery with OFFSET 0 kept it out of the plan's constants: 19.8 against
 * 14.4 ms in one EXPLAIN ANALYZE of 'machine lear' on the 100k-course catalogue, a busy machine.)
 */
function tsquery(name: string, config: 'english' | 'russian', params: { rest: string; prefix?: string }): string {
  const words = `websearch_to_tsquery('${config}', ${params.rest})`;
  if (params.prefix === undefined) return `${words} AS ${name}`;
  return `tsquery_and(${words}, to_tsquery('${config}', ${params.prefix} || ':*')) AS ${name}`;
}

/**
 * Full-text search of `q` against vectors built in each course's configuration (migration 0008:
 * 'russian' for language 'ru', 'english' for the rest). The two configurations treat ASCII words
 * alike (the 'russian' one stems them with the English stemmer), so a query without other letters is
 * one tsquery for every row. A query with Cyrillic (or any non-ASCII) letters is parsed twice, and each
 * row is matched and ranked with its own language's parse: `(vector @@ ru AND russian) OR (vector @@ en
 * AND NOT russian)`, whose two arms each use the same GIN index (a BitmapOr). Matching
 * a row with both parses (an OR of the two tsqueries) would be simpler, but it would break exclusions:
 * `-курсы` would keep a Russian course about "курсы" (stored as 'курс'), since '!курсы' holds for it.
 * The queries are functions in FROM: evaluated once per statement, not once per row.
 */
function searchQuery(text: string, p: (value: unknown) => string): {
  from: string;
  match: (vector: string, isRussian: string) => string;
  rank: (vector: string, isRussian: string) => string;
} {
  const q = collapseDashes(text);
  const parts = splitSearchText(q);
  const params = { rest: p(parts.rest), ...(parts.prefix !== undefined ? { prefix: p(parts.prefix) } : {}) };
  const english = tsquery('query', 'english', params);
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(q)) {
    return { from: english, match: (v) => `${v} @@ query`, rank: (v) => `ts_rank(${v}, query)` };
  }
  return {
    from: `${english}, ${tsquery('query_ru', 'russian', params)}`,
    match: (v, ru) => `((${v} @@ query_ru AND ${ru}) OR (${v} @@ query AND NOT (${ru})))`,
    rank: (v, ru) => `ts_rank(${v}, CASE WHEN ${ru} THEN query_ru ELSE query END)`,
  };
}

/** The WHERE terms of a catalogue filter on `courses` under `alias`; `p` adds a parameter. */
function courseFilterTerms(filter: CourseListFilter, alias: string, p: (value: unknown) => string): string[] {
  const terms: string[] = [];
  // Letter case ignored; served by the courses_category_* indexes on lower(category).
  if (filter.category !== undefined) terms.push(`lower(${alias}.category) = lower(${p(filter.category)})`);
  if (filter.level !== undefined) terms.push(`${alias}.level = ${p(filter.level)}`);
  if (filter.language !== undefined) terms.push(`${alias}.language = ${p(filter.language)}`);
  if (filter.tag !== undefined) terms.push(`${alias}.tags @> ARRAY[${p(filter.tag)}]::text[]`);
  if (filter.instructorId !== undefined) terms.push(`${alias}.instructor_id = ${p(filter.instructorId)}::uuid`);
  if (filter.minRating !== undefined) terms.push(`${alias}.rating_avg >= ${p(filter.minRating)}::numeric`);
  return terms;
}

/**
 * The SET list of an UPDATE of `courses` that moves the rating aggregate by a delta passed as seven
 * parameters from `$first` on, in the order of `ratingDeltaParams`. Shared with the review create
 * statement (ReviewRepository.insertCounted), so the arithmetic lives in one place.
 */
export function ratingDeltaSet(first: number): string {
  const $ = (i: number) => `$${first + i}::int`;
  return `rating_count = rating_count + ${$(0)}, rating_sum = rating_sum + ${$(1)},
         rating_1 = rating_1 + ${$(2)}, rating_2 = rating_2 + ${$(3)}, rating_3 = rating_3 + ${$(4)},
         rating_4 = rating_4 + ${$(5)}, rating_5 = rating_5 + ${$(6)}`;
}

export function ratingDeltaParams(delta: RatingDelta): number[] {
  return [delta.count, delta.sum, ...delta.buckets];
}

/** The cursor values of a row for a sort, in the order `listPublished` expects them back. */
export function courseKeysetValues(row: CourseListRow, sort: CourseListSort): (string | number)[] {
  const avg = String(row.rating_avg);
  switch (sort) {
    case 'relevance':
      return [row.rank ?? '0', row.id];
    case 'newest':
      return [new Date(row.published_at!).toISOString(), row.id];
    case 'rating':
      return [avg, row.rating_count, row.id];
    case 'popular':
      return [Number(row.enrolment_count), row.rating_count, row.id];
    case 'title':
      return [row.title, row.id];
  }
}
