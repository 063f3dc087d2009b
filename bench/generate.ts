/**
 * Loads a synthetic catalogue into a course-service PostgreSQL database with COPY:
 *
 *   node dist/bench/generate.js --database-url postgres://postgres@127.0.0.1:5432/bench_catalog \
 *     [--users 10000] [--courses 100000] [--reviews 1000000] [--completions 5000000] [--heavy-enrolments 500]
 *     [--seed 42] [--reset]
 *
 * Creates the database if it is missing (`--reset` drops and recreates it first), runs the
 * course-service migrations, loads (see catalog_loader.ts), then the learning side (curricula, one
 * enrolment per review, completions, certificates: catalog_learning.ts) and prints the time of each step.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openDatabase } from '../internal/shared/utils/database.js';
import { Migrator } from '../internal/shared/utils/migrations.js';
import { migrationsDir } from '../internal/shared/utils/paths.js';
import { loadCatalog } from './catalog_loader.js';
import { loadLearning } from './catalog_learning.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/bench_catalog' },
    users: { type: 'string', default: '10000' },
    courses: { type: 'string', default: '100000' },
    reviews: { type: 'string', default: '1000000' },
    completions: { type: 'string', default: '5000000' },
    'heavy-enrolments': { type: 'string', default: '500' },
    seed: { type: 'string', default: '42' },
    reset: { type: 'boolean', default: false },
  },
  strict: true,
});

function count(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, not ${raw}`);
  return n;
}

const url = values['database-url'];
const options = {
  users: count('users', values.users),
  courses: count('courses', values.courses),
  reviews: count('reviews', values.reviews),
  seed: count('seed', values.seed),
  now: Date.now(),
};
if (options.users < 2 && options.reviews > 0) throw new Error('--users must be at least 2 to write reviews');

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`;
}

/** CREATE DATABASE (after DROP with --reset) through the server's `postgres` database. */
async function ensureDatabase(target: string, reset: boolean): Promise<void> {
  const admin = new URL(target);
  const name = decodeURIComponent(admin.pathname.slice(1));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Use a plain database name (letters, digits, _), not "${name}"`);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    if (reset) {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      console.log(`dropped database ${name}`);
    }
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${name}`);
      console.log(`created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

const started = performance.now();
await ensureDatabase(url, values.reset);

const db = await openDatabase({ url, dataDir: '', poolSize: 1 });
try {
  const applied = await new Migrator(db, 'course-service', migrationsDir('course-service')).up();
  console.log(`migrations: ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
} finally {
  await db.close();
}

console.log(`loading ${options.courses} courses and ${options.reviews} reviews by ${options.users} users (seed ${options.seed})`);
const client = new pg.Client({ connectionString: url, application_name: 'bench-generate' });
await client.connect();
try {
  const result = await loadCatalog(client, {
    ...options,
    onStep: (step, ms, detail) => console.log(`  ${step.padEnd(46)} ${fmt(ms).padStart(9)}${detail ? `  (${detail})` : ''}`),
  });
  const learning = await loadLearning(client, {
    completions: count('completions', values.completions),
    heavyEnrolments: count('heavy-enrolments', values['heavy-enrolments']),
    onStep: (step, ms, detail) => console.log(`  ${step.padEnd(46)} ${fmt(ms).padStart(9)}${detail ? `  (${detail})` : ''}`),
  });
  console.log(
    `learning: ${learning.sections} sections, ${learning.lessons} lessons, ${learning.enrolments} enrolments, ` +
      `${learning.completions} completions, ${learning.certificates} certificates; heavy learner ${learning.heavyLearnerId ?? 'none'}`,
  );
  const { rows } = await client.query<{ courses: number; published: number; reviews: number; max: number; none: number; big: number; size: string }>(
    `SELECT (SELECT count(*)::int FROM courses) AS courses,
            (SELECT count(*)::int FROM courses WHERE status = 'published') AS published,
            (SELECT count(*)::int FROM reviews) AS reviews,
            (SELECT max(rating_count)::int FROM courses) AS max,
            (SELECT count(*)::int FROM courses WHERE status = 'published' AND rating_count = 0) AS none,
            (SELECT count(*)::int FROM courses WHERE rating_count >= 1000) AS big,
            pg_size_pretty(pg_database_size(current_database())) AS size`,
  );
  const s = rows[0]!;
  const shares = result.ratingShares.map((x, i) => `${i + 1}: ${(x * 100).toFixed(1)}%`).join(', ');
  console.log(`courses ${s.courses} (${s.published} published), reviews ${s.reviews}; stars ${shares}`);
  console.log(`most reviews on one course ${s.max}; ${s.big} courses with >= 1000; ${s.none} published with none; database ${s.size}`);
  console.log(`total ${fmt(performance.now() - started)}`);
} finally {
  await client.end();
}
