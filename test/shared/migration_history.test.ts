/** A database migrated before the history was keyed by service is upgraded in place, history kept. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator } from '../../internal/shared/utils/migrations.js';
import { createTestDatabase, migrationsDir, migrationVersions, type TestDatabase } from '../helpers/pg.js';
import { hasPostgres } from '../helpers/services.js';

describe.skipIf(!hasPostgres)('migration history upgrade', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase('auth-service', { migrated: false });
  });
  afterAll(() => t?.drop());

  it('adds the service column to an old history and keeps what was applied', async () => {
    const migrator = new Migrator(t.db, 'auth-service', migrationsDir('auth-service'));
    await migrator.up(2);
    // Rewind the table to its old shape: version-only key, no service column.
    await t.db.exec(`CREATE TABLE old AS SELECT version, name, checksum, applied_at FROM schema_migrations;
                     DROP TABLE schema_migrations;
                     ALTER TABLE old RENAME TO schema_migrations;
                     ALTER TABLE schema_migrations ADD PRIMARY KEY (version);`);
    const status = await migrator.status();
    expect(status.filter((m) => m.applied).map((m) => m.version)).toEqual([1, 2]);
    const all = migrationVersions('auth-service');
    expect(await migrator.up()).toEqual(all.filter((v) => v > 2));
    const { rows } = await t.db.query<{ service: string; n: number }>('SELECT service, count(*)::int AS n FROM schema_migrations GROUP BY service');
    expect(rows).toEqual([{ service: 'auth-service', n: all.length }]);
    // Another service's history in the same database does not collide.
    expect((await new Migrator(t.db, 'course-service', migrationsDir('course-service')).status()).every((m) => !m.applied)).toBe(true);
  });
});
