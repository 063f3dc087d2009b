/**
 * `npm start`: both services on embedded defaults, each its own process (PostgreSQL in PGlite under
 * var/, cache and rate limits in memory, mail as .eml files under var/mail/). Settings in the
 * environment or config/*.yml still apply, so the same launcher runs against real servers too.
 *
 * The two services share one secret here: course-service's client_credentials secret, made once
 * under var/ and handed to both through the environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT, migrationsDir } from '../internal/shared/utils/paths.js';
import { ConfigError, EMBEDDED_CORS_ORIGINS } from '../internal/shared/utils/config.js';
import { openDatabase } from '../internal/shared/utils/database.js';
import { Migrator } from '../internal/shared/utils/migrations.js';
import { authPaths, loadAuthConfig, type AuthConfig } from '../internal/auth-service/config.js';
import { coursePaths, loadCourseConfig, type CourseConfig } from '../internal/course-service/config.js';
import { seedDemo, type DemoFacts } from './demo_data.js';
import { imageEnv } from './image_env.js';

const varDir = resolve(process.env.VAR_DIR ?? join(PROJECT_ROOT, 'var'));
mkdirSync(varDir, { recursive: true });

function clientSecret(): string {
  const file = join(varDir, 'course-service-client-secret');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

const secret = process.env.COURSE_CLIENT_SECRET ?? clientSecret();
const authPort = process.env.AUTH_PORT ?? '8081';
const coursePort = process.env.COURSE_PORT ?? '8082';
const env = {
  ...process.env,
  VAR_DIR: varDir,
  AUTH_PORT: authPort,
  COURSE_PORT: coursePort,
  AUTH_URL: process.env.AUTH_URL ?? `http://127.0.0.1:${authPort}`,
  AUTH_PUBLIC_URL: process.env.AUTH_PUBLIC_URL ?? `http://localhost:${authPort}`,
  COURSE_PUBLIC_URL: process.env.COURSE_PUBLIC_URL ?? `http://localhost:${coursePort}`,
  AUTH_CLIENTS: process.env.AUTH_CLIENTS ?? JSON.stringify([{ id: 'course-service', secret }]),
  COURSE_CLIENT_SECRET: secret,
  // Request logs would bury the start-up summary; LOG_LEVEL=info npm start shows them.
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  // As in the Docker image (its NODE_OPTIONS and MALLOC_ARENA_MAX, read from the Dockerfile): a bounded
  // V8 heap and fewer glibc arenas. Settings in the environment win.
  ...imageEnv(),
  ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
  ...(process.env.MALLOC_ARENA_MAX ? { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX } : {}),
};
delete (env as Record<string, string | undefined>).PORT;

// A bad setting stops everything here, with one line, before anything starts.
let authConfig: AuthConfig;
let courseConfig: CourseConfig;
try {
  authConfig = loadAuthConfig({ env });
  courseConfig = loadCourseConfig({ env });
} catch (err) {
  console.error(err instanceof ConfigError ? `Cannot start: ${err.message}` : err);
  process.exit(1);
}
// A front end in development runs on some port of this machine: unless CORS_ORIGINS or a config file
// says otherwise (`CORS_ORIGINS=` closes it), both services let it call them (README, "CORS").
if (process.env.CORS_ORIGINS === undefined && authConfig.http.corsOrigins.length === 0 && courseConfig.http.corsOrigins.length === 0) {
  (env as Record<string, string>).CORS_ORIGINS = EMBEDDED_CORS_ORIGINS;
}

/**
 * Embedded mode on an empty var/: migrate both databases and load the demo data now, in this process,
 * before the services open them (PGlite is one process per database).
 */
async function prepareDemo(): Promise<DemoFacts | undefined> {
  const file = join(varDir, 'demo-credentials.json');
  if (authConfig.database.url || courseConfig.database.url) return undefined;
  if (existsSync(authPaths(authConfig).dataDir)) {
    if (!existsSync(file)) return undefined;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as DemoFacts | DemoFacts['accounts'];
    // A var/ made before the demo had learning facts holds the accounts alone.
    return Array.isArray(saved) ? { accounts: saved, certificateId: null, studentCourses: [] } : saved;
  }
  console.log('First start: creating the embedded databases and loading demo data ...');
  const authDb = await openDatabase({ url: '', dataDir: authPaths(authConfig).dataDir });
  const courseDb = await openDatabase({ url: '', dataDir: coursePaths(courseConfig).dataDir });
  try {
    await new Migrator(authDb, 'auth-service', migrationsDir('auth-service')).up();
    await new Migrator(courseDb, 'course-service', migrationsDir('course-service')).up();
    const facts = await seedDemo(authDb, courseDb, authConfig.passwords);
    writeFileSync(file, JSON.stringify(facts, null, 2), { mode: 0o600 });
    const { rows } = await courseDb.query<{ courses: number; reviews: number }>(
      'SELECT (SELECT count(*) FROM courses)::int AS courses, (SELECT count(*) FROM reviews)::int AS reviews',
    );
    console.log(`  demo data: ${rows[0]!.courses} courses, ${rows[0]!.reviews} reviews, 3 accounts (below)`);
    return facts;
  } finally {
    await authDb.close();
    await courseDb.close();
  }
}

const children: ChildProcess[] = [];
let stopping = false;

function run(service: string): ChildProcess {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'cmd', service, 'main.js')], { env, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`${service} stopped (${signal ?? `exit ${code}`}); stopping the other service`);
    stop(code ?? 1);
  });
  children.push(child);
  return child;
}

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  let left = children.filter((c) => c.exitCode === null).length;
  if (left === 0) process.exit(code);
  for (const child of children) {
    if (child.exitCode !== null) continue;
    child.once('exit', () => --left === 0 && process.exit(code));
    child.kill('SIGTERM');
  }
}

async function waitReady(url: string, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && !stopping) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const started = Date.now();
const demo = await prepareDemo();
console.log(`Starting auth-service (:${authPort}) ...`);
run('auth-service');
if (await waitReady(`http://127.0.0.1:${authPort}/readyz`, 60_000)) {
  console.log(`Starting course-service (:${coursePort}) ...`);
  run('course-service');
  if (await waitReady(`http://127.0.0.1:${coursePort}/readyz`, 60_000)) {
    console.log(
      [
        '',
        `Ready in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
        ...(authConfig.http.docs ? [`  auth-service   Swagger UI: http://localhost:${authPort}/docs`] : []),
        ...(courseConfig.http.docs ? [`  course-service Swagger UI: http://localhost:${coursePort}/docs`] : []),
        `  CORS: ${(env as Record<string, string | undefined>).CORS_ORIGINS || authConfig.http.corsOrigins.join(',') || 'closed'} (CORS_ORIGINS)`,
        `  mail (one .eml per message): ${join(varDir, 'mail')}`,
        `  data, keys and secrets: ${varDir} (delete it to start afresh)`,
        ...(demo
          ? [
              '',
              'Demo accounts (also in var/demo-credentials.json):',
              ...demo.accounts.map((a) => `  ${a.role.padEnd(10)} ${a.email.padEnd(24)} ${a.password}`),
              ...(demo.studentCourses.length
                ? ['', 'The demo student is learning:', ...demo.studentCourses.map((c) => `  ${String(c.percent).padStart(3)}%  ${c.title}`)]
                : []),
              ...(demo.certificateId
                ? [`  certificate: http://localhost:${coursePort}/api/v1/certificates/${demo.certificateId}`]
                : []),
            ]
          : []),
        '',
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
  }
}
