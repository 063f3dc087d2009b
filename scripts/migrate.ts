/**
 * npm run migrate -- <auth-service|course-service> up [n] | down [n] | status
 * Uses the service's own settings (DATABASE_URL, or its embedded database under var/).
 */
import { openDatabase } from '../internal/shared/utils/database.js';
import { Migrator } from '../internal/shared/utils/migrations.js';
import { migrationsDir } from '../internal/shared/utils/paths.js';
import { loadAuthConfig, authPaths } from '../internal/auth-service/config.js';

const USAGE = 'usage: npm run migrate -- <auth-service|course-service> up [n] | down [n] | status';

async function databaseOptions(service: string): Promise<{ url: string; dataDir: string }> {
  if (service === 'auth-service') {
    const config = loadAuthConfig();
    return { url: config.database.url, dataDir: authPaths(config).dataDir };
  }
  if (service === 'course-service') {
    const { loadCourseConfig, coursePaths } = await import('../internal/course-service/config.js');
    const config = loadCourseConfig();
    return { url: config.database.url, dataDir: coursePaths(config).dataDir };
  }
  throw new Error(USAGE);
}

async function main(): Promise<void> {
  const [service, command = 'status', count] = process.argv.slice(2);
  if (!service || !['up', 'down', 'status'].includes(command)) throw new Error(USAGE);
  const steps = count === undefined ? undefined : Number(count);
  if (steps !== undefined && (!Number.isInteger(steps) || steps < 1)) throw new Error(`n must be a positive integer. ${USAGE}`);
  const db = await openDatabase({ ...(await databaseOptions(service)), poolSize: 1 });
  try {
    const migrator = new Migrator(db, service, migrationsDir(service as 'auth-service'));
    if (command === 'up') {
      const done = await migrator.up(steps ?? Infinity);
      console.log(done.length ? `applied: ${done.join(', ')}` : 'nothing to apply');
    } else if (command === 'down') {
      const done = await migrator.down(steps ?? 1);
      console.log(done.length ? `reverted: ${done.join(', ')}` : 'nothing to revert');
    } else {
      for (const m of await migrator.status()) {
        console.log(`${String(m.version).padStart(4, '0')} ${m.name.padEnd(40)} ${m.applied ? `applied ${m.appliedAt?.toISOString()}` : 'pending'}`);
      }
    }
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  console.error(`migrate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
