/** The migration runner on auth-service's migrations, on an empty PostgreSQL database per test. */
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { createTestDatabase, migrationsDir, type TestDatabase } from '../helpers/pg.js';
import { openDatabase, type Database } from '../../internal/shared/utils/database.js';
import { MigrationError, Migrator, readMigrations } from '../../internal/shared/utils/migrations.js';

const DIR = migrationsDir('auth-service');
const VERSIONS = readMigrations(DIR).map((m) => m.version);
const TABLES = ['notifications', 'one_time_tokens', 'sessions', 'users'];

async function tables(db: Database): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
  );
  return rows.map((r) => r.table_name);
}

describe.skipIf(!hasPostgres)('migrations (auth-service)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function emptyDb(): Promise<TestDatabase> {
    const database = await createTestDatabase('auth-service', { migrated: false });
    cleanup.push(() => database.drop());
    return database;
  }

  function copyOfMigrations(): string {
    const dir = mkdtempSync(join(tmpdir(), 'auth-migrations-'));
    cpSync(DIR, dir, { recursive: true });
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  it('finds the migrations in order, each with up and down', () => {
    expect(VERSIONS).toEqual([...VERSIONS].sort((a, b) => a - b));
    expect(VERSIONS[0]).toBe(1);
    expect(VERSIONS.length).toBeGreaterThanOrEqual(4);
  });

  it('goes up, reports the status, goes all the way down, and up again', async () => {
    const { db } = await emptyDb();
    const migrator = new Migrator(db, 'auth-service', DIR);
    expect(await tables(db)).toEqual([]);

    expect((await migrator.status()).every((s) => !s.applied)).toBe(true);
    expect(await migrator.up()).toEqual(VERSIONS);
    for (const t of TABLES) expect(await tables(db)).toContain(t);
    const status = await migrator.status();
    expect(status.map((s) => s.version)).toEqual(VERSIONS);
    expect(status.every((s) => s.applied && s.appliedAt instanceof Date)).toBe(true);
    expect(await migrator.up()).toEqual([]);

    // A working schema: the constraints the code relies on are there.
    await db.query("INSERT INTO users (id, email, password_hash, display_name) VALUES ('01890000-0000-7000-8000-000000000001', 'a@example.com', 'x', 'A')");
    await expect(db.query("INSERT INTO users (id, email, password_hash, display_name) VALUES ('01890000-0000-7000-8000-000000000002', 'a@example.com', 'x', 'B')")).rejects.toMatchObject({ code: '23505' });
    await expect(db.query("INSERT INTO users (id, email, password_hash, display_name) VALUES ('01890000-0000-7000-8000-000000000003', 'Upper@Example.com', 'x', 'C')")).rejects.toMatchObject({ code: '23514' });

    expect(await migrator.down(Infinity)).toEqual([...VERSIONS].reverse());
    expect(await tables(db)).toEqual(['schema_migrations']);
    expect((await migrator.status()).some((s) => s.applied)).toBe(false);

    expect(await migrator.up()).toEqual(VERSIONS);
    for (const t of TABLES) expect(await tables(db)).toContain(t);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    expect(rows[0]!.n).toBe(0);
  });

  it('steps: up 2, down 1 (the newest), up the rest', async () => {
    const { db } = await emptyDb();
    const migrator = new Migrator(db, 'auth-service', DIR);
    expect(await migrator.up(2)).toEqual(VERSIONS.slice(0, 2));
    expect(await tables(db)).toEqual(['schema_migrations', 'sessions', 'users']);
    expect(await migrator.down()).toEqual([VERSIONS[1]]);
    expect(await tables(db)).toEqual(['schema_migrations', 'users']);
    expect(await migrator.up()).toEqual(VERSIONS.slice(1));
  });

  it('refuses to run when an applied migration was edited afterwards (checksum)', async () => {
    const { db } = await emptyDb();
    const dir = copyOfMigrations();
    await new Migrator(db, 'auth-service', dir).up();
    const file = readdirSync(dir).find((f) => /^0002_.*\.up\.sql$/.test(f))!;
    appendFileSync(join(dir, file), '\n-- an innocent-looking edit\n');

    const edited = new Migrator(db, 'auth-service', dir);
    await expect(edited.up()).rejects.toThrow(MigrationError);
    await expect(edited.up()).rejects.toThrow(/0002_.*checksum/);
    await expect(edited.status()).rejects.toThrow(/checksum/);
    // The untouched originals still pass.
    expect(await new Migrator(db, 'auth-service', DIR).up()).toEqual([]);
  });

  it('runs each migration in a transaction: a failing one leaves no trace and is not recorded', async () => {
    const { db } = await emptyDb();
    const dir = copyOfMigrations();
    writeFileSync(join(dir, '0099_broken.up.sql'), 'CREATE TABLE half_done (id int);\nSELECT no_such_function();\n');
    writeFileSync(join(dir, '0099_broken.down.sql'), 'DROP TABLE IF EXISTS half_done;\n');
    const migrator = new Migrator(db, 'auth-service', dir);
    await expect(migrator.up()).rejects.toThrow(/no_such_function/);
    expect(await tables(db)).not.toContain('half_done');
    const status = await migrator.status();
    expect(status.filter((s) => s.applied).map((s) => s.version)).toEqual(VERSIONS);
    expect(status.find((s) => s.version === 99)!.applied).toBe(false);
  });

  it('refuses a migration without its down file', () => {
    const dir = copyOfMigrations();
    rmSync(join(dir, readdirSync(dir).find((f) => /^0003_.*\.down\.sql$/.test(f))!));
    expect(() => readMigrations(dir)).toThrow(/0?3 needs both/);
  });

  it('two runners racing up() on the same empty database both succeed and apply each migration once', async () => {
    const { url } = await emptyDb();
    const a = await openDatabase({ url, dataDir: '', poolSize: 2 });
    const b = await openDatabase({ url, dataDir: '', poolSize: 2 });
    cleanup.push(async () => {
      await a.close();
      await b.close();
    });
    const [ra, rb] = await Promise.all([new Migrator(a, 'auth-service', DIR).up(), new Migrator(b, 'auth-service', DIR).up()]);
    expect([...ra, ...rb].sort((x, y) => x - y)).toEqual(VERSIONS);
    // One of them did all the work under the lock; the other found nothing left.
    expect([ra.length, rb.length].sort((x, y) => x - y)).toEqual([0, VERSIONS.length]);
    const { rows } = await a.query<{ version: number; n: number }>('SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version ORDER BY version');
    expect(rows).toEqual(VERSIONS.map((version) => ({ version, n: 1 })));
  });
});
