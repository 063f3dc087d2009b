/**
 * Keyset pagination over many rows that share sort values: every published course is seen exactly
 * once, in the sort's order, for each sort, with and without filters.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import type { CourseListInput } from '../../internal/course-service/models/course.js';
import type { CourseService } from '../../internal/course-service/services/course_service.js';
import { instructor, newCourseInput, publishedCourse, services, walk } from './factories.js';

const ORDER: Record<string, string> = {
  newest: 'published_at DESC, id DESC',
  rating: 'rating_avg DESC, rating_count DESC, id DESC',
  popular: 'enrolment_count DESC, rating_count DESC, id DESC',
  title: 'title ASC, id ASC',
};

// Valid aggregates (the table checks count and sum against the buckets), few distinct, so many tie.
const RATINGS: [number, number, number, number, number][] = [
  [0, 0, 0, 0, 0],
  [0, 0, 0, 0, 2],
  [0, 0, 0, 2, 0],
  [0, 0, 0, 1, 1],
  [0, 0, 2, 0, 0],
  [1, 0, 0, 0, 1],
];

describe.skipIf(!hasPostgres)('course list pagination', () => {
  let t: TestDatabase;
  let courses: CourseService;
  let published: string[];
  let owners: ReturnType<typeof instructor>[];

  beforeAll(async () => {
    t = await createTestDatabase('course-service');
    ({ courses } = services(t.db));
    owners = [instructor(), instructor()];
    published = [];
    for (let i = 0; i < 60; i++) {
      const c = await publishedCourse(
        t.db,
        courses,
        owners[i % 2]!,
        {
          title: `Paging course ${['alpha', 'beta', 'gamma'][i % 3]}`,
          description: i % 4 === 0 ? 'paging paging paging' : 'nothing special',
          category: i % 2 ? 'Odd' : 'Even',
          level: (['beginner', 'intermediate', 'advanced'] as const)[i % 3],
          language: i % 5 ? 'en' : 'de',
          tags: i % 4 === 1 ? ['paging', 'extra'] : ['paging'],
        },
      );
      published.push(c.id);
      const b = RATINGS[i % RATINGS.length]!;
      const count = b.reduce((s, n) => s + n, 0);
      const sum = b.reduce((s, n, k) => s + n * (k + 1), 0);
      await t.db.query(
        `UPDATE courses SET rating_count = $2, rating_sum = $3, rating_1 = $4, rating_2 = $5, rating_3 = $6, rating_4 = $7, rating_5 = $8,
           published_at = timestamptz '2024-01-01T00:00:00Z' + ($9::int * interval '1 hour'),
           enrolment_count = $10, learner_total = $10
         WHERE id = $1`,
        [c.id, count, sum, ...b, i % 5, i % 3],
      );
    }
    // Drafts and archived courses share titles and dates but never appear.
    for (let i = 0; i < 5; i++) {
      if (i % 2) await courses.create(owners[0]!, newCourseInput({ title: 'Paging course alpha' }));
      else await courses.update(owners[0]!, (await publishedCourse(t.db, courses, owners[0]!, { title: 'Paging course alpha' })).id, { status: 'archived' });
    }
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function expected(order: string, where = 'true', params: unknown[] = []): Promise<string[]> {
    const { rows } = await t.db.query<{ id: string }>(`SELECT id FROM courses WHERE status = 'published' AND ${where} ORDER BY ${order}`, params);
    return rows.map((r) => r.id);
  }

  async function all(query: CourseListInput): Promise<{ ids: string[]; pages: number }> {
    const { items, pages } = await walk((cursor) => courses.list({ ...query, limit: 7, cursor }));
    return { ids: items.map((c) => c.id), pages };
  }

  for (const sort of ['newest', 'rating', 'popular', 'title'] as const) {
    it(`walks every published course exactly once sorted by ${sort}`, async () => {
      const { ids, pages } = await all({ sort });
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(new Set(published));
      expect(ids).toEqual(await expected(ORDER[sort]!));
      expect(pages).toBe(Math.ceil(60 / 7));
    });

    it(`walks a filtered list by ${sort}`, async () => {
      const { ids } = await all({ sort, category: 'Odd' });
      expect(ids).toEqual(await expected(ORDER[sort]!, 'category = $1', ['Odd']));
      expect(ids).toHaveLength(30);
    });
  }

  it('walks relevance order with ties, id as the tiebreaker', async () => {
    const { ids } = await all({ q: 'paging' });
    const want = await expected(
      `ts_rank(search_vector, websearch_to_tsquery('english', 'paging')) DESC, id DESC`,
      `search_vector @@ websearch_to_tsquery('english', 'paging')`,
    );
    expect(ids).toEqual(want);
    expect(ids).toHaveLength(60);
    // The courses with the word in the description as well rank first.
    const boosted = new Set(published.filter((_, i) => i % 4 === 0));
    expect(new Set(ids.slice(0, boosted.size))).toEqual(boosted);
  });

  // Relevance with filters ranks on course_search (facets in its index), or on courses with an
  // instructor or a rating: the same rows and order either way.
  it('walks relevance order under every filter, alone and combined', async () => {
    const rank = `ts_rank(search_vector, websearch_to_tsquery('english', 'paging')) DESC, id DESC`;
    const match = `search_vector @@ websearch_to_tsquery('english', 'paging')`;
    const cases: [CourseListInput, string, unknown[]][] = [
      [{ category: 'Odd' }, 'category = $1', ['Odd']],
      [{ level: 'advanced' }, 'level = $1', ['advanced']],
      [{ language: 'de' }, 'language = $1', ['de']],
      [{ tag: 'extra' }, `tags @> ARRAY['extra']`, []],
      [{ instructorId: owners[1]!.sub }, 'instructor_id = $1', [owners[1]!.sub]],
      [{ minRating: 4.5 }, 'rating_avg >= 4.5', []],
      [{ category: 'Even', level: 'intermediate', minRating: 3 }, `category = 'Even' AND level = 'intermediate' AND rating_avg >= 3`, []],
      [{ tag: 'extra', language: 'en', instructorId: owners[1]!.sub }, `tags @> ARRAY['extra'] AND language = 'en' AND instructor_id = $1`, [owners[1]!.sub]],
      [{ category: 'None' }, 'false', []],
    ];
    for (const [filter, where, params] of cases) {
      const { ids } = await all({ q: 'paging', ...filter });
      expect(ids, JSON.stringify(filter)).toEqual(await expected(rank, `${match} AND ${where}`, params));
      if (where !== 'false') expect(ids.length, JSON.stringify(filter)).toBeGreaterThan(0);
    }
  });

  it('ends with a null cursor and never returns an empty middle page', async () => {
    const pages: number[] = [];
    await walk(async (cursor) => {
      const page = await courses.list({ sort: 'title', limit: 20, cursor });
      pages.push(page.items.length);
      return page;
    });
    expect(pages).toEqual([20, 20, 20]);
  });
});
