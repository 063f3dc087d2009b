/**
 * The migration runner: `NNNN_name.up.sql` / `NNNN_name.down.sql` files, applied in order, each in its own
 * transaction, all under one advisory lock so replicas that start together do not race. An applied
 * migration whose file changed is refused by checksum: fix forward with a new migration instead.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase, type Database, type Session } from './database.js';
import { migrationsDir } from './paths.js';

export interface MigrationFile {
  version: number;
  name: string;
  up: string;
  down: string;
  checksum: string;
}

export interface MigrationStatus {
  version: number;
  name: string;
  applied: boolean;
  appliedAt: Date | null;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$/;

export function readMigrations(dir: string): MigrationFile[] {
  const byVersion = new Map<number, Partial<MigrationFile>>();
  for (const file of readdirSync(dir).sort()) {
    const m = FILE.exec(file);
    if (!m) continue;
    const version = Number(m[1]);
    const entry = byVersion.get(version) ?? { version, name: m[2] };
    if (entry.name !== m[2]) throw new MigrationError(`Migration ${m[1]} has two names: ${entry.name} and ${m[2]}`);
    entry[m[3] as 'up' | 'down'] = readFileSync(join(dir, file), 'utf8');
    byVersion.set(version, entry);
  }
  return [...byVersion.values()]
    .sort((a, b) => a.version! - b.version!)
    .map((e) => {
      if (e.up === undefined || e.down === undefined) throw new MigrationError(`Migration ${e.version} needs both .up.sql and .down.sql`);
      return { ...(e as MigrationFile), checksum: createHash('sha256').update(e.up).digest('hex') };
    });
}

/** A stable 32-bit lock id per service, so auth and course migrations never wait on each other. */
function lockId(service: string): number {
  return createHash('sha256').update(`migrations:${service}`).digest().readInt32BE(0);
}

export class Migrator {
  constructor(
    private readonly db: Database,
    private readonly service: string,
    private readonly dir: string,
  ) {}

  private async locked<T>(fn: (s: Session) => Promise<T>): Promise<T> {
    return this.db.withSession(async (session) => {
      await session.query('SELECT pg_advisory_lock($1)', [lockId(this.service)]);
      try {
        // Keyed by service too, so two services pointed at one database by mistake do not mix up
        // their histories (each should have its own database; see DESIGN section 1).
        await session.query(
          `CREATE TABLE IF NOT EXISTS schema_migrations (
             service text NOT NULL,
             version integer NOT NULL,
             name text NOT NULL,
             checksum text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now(),
             PRIMARY KEY (service, version))`,
        );
        await this.upgradeHistoryTable(session);
        return await fn(session);
      } finally {
        await session.query('SELECT pg_advisory_unlock($1)', [lockId(this.service)]).catch(() => undefined);
      }
    });
  }

  /** Databases migrated before the history was keyed by service get the column, owned by this service. */
  private async upgradeHistoryTable(session: Session): Promise<void> {
    const { rows } = await session.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'service'`,
    );
    if (rows[0]?.n) return;
    await session.transaction(async (tx) => {
      await tx.query('ALTER TABLE schema_migrations ADD COLUMN service text');
      await tx.query('UPDATE schema_migrations SET service = $1', [this.service]);
      await tx.exec(
        `ALTER TABLE schema_migrations ALTER COLUMN service SET NOT NULL;
         ALTER TABLE schema_migrations DROP CONSTRAINT schema_migrations_pkey;
         ALTER TABLE schema_migrations ADD PRIMARY KEY (service, version);`,
      );
    });
  }

  private async applied(session: Session): Promise<Map<number, { checksum: string; applied_at: Date }>> {
    const { rows } = await session.query<{ version: number; checksum: string; applied_at: Date }>(
      'SELECT version, checksum, applied_at FROM schema_migrations WHERE service = $1 ORDER BY version',
      [this.service],
    );
    return new Map(rows.map((r) => [r.version, r]));
  }

  private verify(files: MigrationFile[], applied: Map<number, { checksum: string }>): void {
    for (const file of files) {
      const row = applied.get(file.version);
      if (row && row.checksum !== file.checksum) {
        throw new MigrationError(
          `Migration ${String(file.version).padStart(4, '0')}_${file.name} was changed after it was applied (checksum differs); add a new migration instead`,
        );
      }
    }
  }

  /** Applies pending migrations (all, or the next `steps`); returns the versions applied. */
  async up(steps = Infinity): Promise<number[]> {
    const files = readMigrations(this.dir);
    return this.locked(async (session) => {
      const applied = await this.applied(session);
      this.verify(files, applied);
      const done: number[] = [];
      for (const file of files.filter((f) => !applied.has(f.version)).slice(0, steps)) {
        await session.transaction(async (tx) => {
          await tx.exec(file.up);
          await tx.query('INSERT INTO schema_migrations (service, version, name, checksum) VALUES ($1, $2, $3, $4)', [
            this.service,
            file.version,
            file.name,
            file.checksum,
          ]);
        });
        done.push(file.version);
      }
      return done;
    });
  }

  /** Reverts the last `steps` applied migrations (default 1); returns the versions reverted. */
  async down(steps = 1): Promise<number[]> {
    const files = new Map(readMigrations(this.dir).map((f) => [f.version, f]));
    return this.locked(async (session) => {
      const applied = [...(await this.applied(session)).keys()].sort((a, b) => b - a).slice(0, steps);
      for (const version of applied) {
        const file = files.get(version);
        if (!file) throw new MigrationError(`Migration ${version} is applied but its files are missing`);
        await session.transaction(async (tx) => {
          await tx.exec(file.down);
          await tx.query('DELETE FROM schema_migrations WHERE service = $1 AND version = $2', [this.service, version]);
        });
      }
      return applied;
    });
  }

  async status(): Promise<MigrationStatus[]> {
    const files = readMigrations(this.dir);
    return this.locked(async (session) => {
      const applied = await this.applied(session);
      this.verify(files, applied);
      return files.map((f) => ({
        version: f.version,
        name: f.name,
        applied: applied.has(f.version),
        appliedAt: applied.get(f.version)?.applied_at ?? null,
      }));
    });
  }
}

/**
 * A service's database as its app uses it: the given one (tests, tools) or one opened from settings,
 * migrated at start when `migrateOnStart` is on.
 */
export async function openServiceDatabase(
  service: 'auth-service' | 'course-service',
  settings: { url: string; poolSize: number; statementTimeoutMs: number; connectTimeoutMs: number; migrateOnStart: boolean },
  dataDir: string,
  logger: { info(obj: object, msg: string): void },
  given?: Database,
): Promise<Database> {
  const db =
    given ??
    (await openDatabase({
      url: settings.url,
      dataDir,
      poolSize: settings.poolSize,
      statementTimeoutMs: settings.statementTimeoutMs,
      connectTimeoutMs: settings.connectTimeoutMs,
      applicationName: service,
    }));
  if (settings.migrateOnStart) {
    const applied = await new Migrator(db, service, migrationsDir(service)).up();
    if (applied.length) logger.info({ applied }, 'migrations applied');
  }
  return db;
}
