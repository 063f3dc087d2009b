/** The course-service migrations apply, revert completely and apply again. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, migrationsDir, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';
import { Migrator } from '../../internal/shared/utils/migrations.js';

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
    expect(await migrator.up()).toEqual([1, 2, 3, 4, 5, 6, 7]);
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
      ]),
    );
    expect(await migrator.down(7)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(await objects()).toEqual([]);
    expect(await migrator.up()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(await objects()).toEqual(created);
  });
});
