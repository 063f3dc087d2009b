/**
 * A database per test file, made from a migrated template (one template per service and migration
 * checksum), so every file starts clean and files run in parallel.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../../internal/shared/utils/database.js';
import { Migrator } from '../../internal/shared/utils/migrations.js';
import { PG_ADMIN_URL } from './services.js';

export type ServiceName = 'auth-service' | 'course-service';

export function migrationsDir(service: ServiceName): string {
  return join(import.meta.dirname, '..', '..', 'migrations', service);
}

/** The migration versions on disk for a service, ascending (tests derive their expectations from it). */
export function migrationVersions(service: ServiceName): number[] {
  return [...new Set(readdirSync(migrationsDir(service)).map((f) => /^(\d+)_.*\.up\.sql$/.exec(f)?.[1]).filter((v): v is string => v !== undefined).map(Number))].sort((a, b) => a - b);
}

function urlFor(database: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function ensureTemplate(service: ServiceName): Promise<string> {
  const dir = migrationsDir(service);
  const hash = createHash('sha256');
  for (const f of readdirSync(dir).sort()) hash.update(f).update(readFileSync(join(dir, f)));
  // The runner's own table is part of the template too.
  hash.update(readFileSync(join(import.meta.dirname, '..', '..', 'internal', 'shared', 'utils', 'migrations.ts')));
  const name = `tpl_${service.replace('-', '_')}_${hash.digest('hex').slice(0, 12)}`;
  await withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock(4242)');
    try {
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount) return;
      await admin.query(`CREATE DATABASE ${name}`);
      const db = await openDatabase({ url: urlFor(name), dataDir: '' , poolSize: 1 });
      try {
        await new Migrator(db, service, dir).up();
      } finally {
        await db.close();
      }
    } finally {
      await admin.query('SELECT pg_advisory_unlock(4242)');
    }
  });
  return name;
}

export interface TestDatabase {
  url: string;
  name: string;
  db: Database;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file. `migrated: false` gives an empty one. */
export async function createTestDatabase(service: ServiceName, options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const name = `test_${service.replace('-', '_')}_${randomBytes(6).toString('hex')}`;
  if (options.migrated === false) {
    await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
  } else {
    const template = await ensureTemplate(service);
    await withAdmin((admin) => admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  }
  const url = urlFor(name);
  const db = await openDatabase({ url, dataDir: '', poolSize: 20 });
  return {
    url,
    name,
    db,
    async drop() {
      await db.close().catch(() => undefined);
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
