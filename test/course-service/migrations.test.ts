/** The course-service migrations apply, revert completely and apply again. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, migrationsDir, migrationVersions, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { Migrator } from '../../internal/shared/utils/migrations.js';
import { insertInterleavedCourses } from './factories.js';

// Every version on disk, in order: a new migration is covered without editing this test.
const ALL = migrationVersions('course-service');

describe.skipIf(!hasPostgres)('course-service migrations', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('course-service', { migrated: false });
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function objects(): Promise<string[]> {
    const { rows } = await t.db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname <> 'schema_migrations' AND c.relname NOT LIKE 'schema_migrations%'
       UNION ALL SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
       ORDER BY 1`,
    );
    return rows.map((r) => r.name);
  }

  it('up, down to nothing, up again', async () => {
    const migrator = new Migrator(t.db, 'course-service', migrationsDir('course-service'));
    expect(await migrator.up()).toEqual(ALL);
    const created = await objects();
    const { rows } = await t.db.query<{ attstorage: string }>(
      "SELECT attstorage FROM pg_attribute WHERE attrelid = 'courses'::regclass AND attname = 'search_vector'",
    );
    expect(rows[0]!.attstorage).toBe('m');
    const { rows: narrow } = await t.db.query<{ attstorage: string }>(
      "SELECT attstorage FROM pg_attribute WHERE attrelid = 'course_search'::regclass AND attname = 'search_vector'",
    );
    expect(narrow[0]!.attstorage).toBe('m');
    expect(created).toEqual(
      expect.arrayContaining([
        'courses', 'reviews', 'course_outbox', 'courses_search_idx', 'courses_before_write',
        'course_search', 'course_search_pkey', 'course_search_match_idx', 'courses_sync_search', 'course_search_facets',
        'course_search_config', 'course_search_vector',
      ]),
    );
    expect(await migrator.down(ALL.length)).toEqual([...ALL].reverse());
    expect(await objects()).toEqual([]);
    expect(await migrator.up()).toEqual(ALL);
    expect(await objects()).toEqual(created);
  });

  it('0008 re-vectors existing Russian courses and lower-cases category facets, and its down undoes both', async () => {
    const migrator = new Migrator(t.db, 'course-service', migrationsDir('course-service'));
    await migrator.down(Infinity);
    expect(await migrator.up(7)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const id = '0190a0b0-0000-7000-8000-0000000000a1';
    await t.db.query(
      `INSERT INTO courses (id, slug, title, category, level, language, duration_minutes, instructor_id, status, published_at)
       VALUES ($1, 'ru-course', 'Основы программирования', 'Programming', 'beginner', 'ru', 60, $1, 'published', now())`,
      [id],
    );
    const state = async () =>
      (await t.db.query<{ v: string; s: string; facets: string[] }>(
        'SELECT c.search_vector::text AS v, s.search_vector::text AS s, s.facets FROM courses c JOIN course_search s ON s.course_id = c.id WHERE c.id = $1',
        [id],
      )).rows[0]!;
    const before = await state();
    expect(before.v).toContain("'программирования'");
    expect(before.facets).toContain('cat:Programming');

    expect(await migrator.up(1)).toEqual([8]);
    const after = await state();
    expect(after.v).toContain("'программирован'");
    expect(after.s).toBe(after.v);
    expect(after.facets).toContain('cat:programming');

    expect(await migrator.down(1)).toEqual([8]);
    expect(await state()).toEqual(before);
    await t.db.query('DELETE FROM courses WHERE id = $1', [id]);
    expect(await migrator.up()).toEqual(ALL.filter((v) => v >= 8));
  });

  it('0017 puts course_search in category order, keeps room for edits and turns off the GIN pending list; its down resets both', async () => {
    const migrator = new Migrator(t.db, 'course-service', migrationsDir('course-service'));
    await migrator.down(Infinity);
    expect(await migrator.up(ALL.indexOf(17))).toEqual(ALL.filter((v) => v < 17));
    await insertInterleavedCourses(t.db, 30);
    const physicalOrder = async () =>
      (await t.db.query<{ cat: string }>(`SELECT facets[1] AS cat FROM course_search ORDER BY ctid`)).rows.map((r) => r.cat);
    const settings = async () =>
      (await t.db.query<{ relname: string; reloptions: string[] | null }>(
        `SELECT relname, reloptions FROM pg_class WHERE relname IN ('course_search', 'course_search_match_idx') ORDER BY relname`,
      )).rows;
    const runs = (cats: string[]) => cats.filter((c, i) => i === 0 || c !== cats[i - 1]).length;
    expect(runs(await physicalOrder())).toBe(30);

    expect(await migrator.up(1)).toEqual([17]);
    expect(await physicalOrder()).toEqual([...Array(10).fill('cat:art'), ...Array(10).fill('cat:music'), ...Array(10).fill('cat:zoology')]);
    expect(await settings()).toEqual([
      { relname: 'course_search', reloptions: ['fillfactor=90'] },
      { relname: 'course_search_match_idx', reloptions: ['fastupdate=off'] },
    ]);
    // CLUSTER remembers the index, so `CLUSTER course_search;` (the operations guide's command) re-orders.
    await t.db.query('CLUSTER course_search');

    expect(await migrator.down(1)).toEqual([17]);
    expect(await settings()).toEqual([
      { relname: 'course_search', reloptions: null },
      { relname: 'course_search_match_idx', reloptions: null },
    ]);
    await t.db.query('DELETE FROM courses');
    expect(await migrator.up()).toEqual([17]);
  });
});
