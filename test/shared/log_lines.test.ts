/**
 * Log lines of both services: every line is JSON with unique keys (the hashing-thread priority lines
 * too), and a database error is logged by its code and constraint, never with the values it quotes.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthApp, type AuthApp } from '../../internal/auth-service/app.js';
import { reportHashThreads } from '../../internal/auth-service/services/hash_threads.js';
import { HashThreads, type ThreadPoolHooks } from '../../internal/auth-service/services/thread_priority.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { openDatabase } from '../../internal/shared/utils/database.js';
import { hasPostgres, hasRedis, REDIS_URL } from '../helpers/services.js';
import { testAuthConfig } from '../helpers/auth_app.js';
import { startCourse, type CourseHarness } from '../helpers/course_app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { duplicateKeys } from '../helpers/json_keys.js';


function fakePool(): ThreadPoolHooks {
  let times = new Map([[String(process.pid), 1], ['201', 0]]);
  return {
    cpuTimes: () => times,
    busyPool: async () => {
      times = new Map([[String(process.pid), 2], ['201', 3]]);
    },
    setPriority: () => undefined,
    setIdle: async () => undefined,
  };
}

describe('duplicateKeys', () => {
  it('finds a key written twice, at any depth, and nothing in clean JSON', () => {
    expect(duplicateKeys('{"level":"info","a":{"b":1,"b":"x\\"}"},"level":"idle"}')).toEqual(['b', 'level']);
    expect(duplicateKeys('{"a":[{"k":1},{"k":2}],"s":"{\\"k\\":1,\\"k\\":2}","n":null}')).toEqual([]);
  });
});

describe('log lines of embedded PostgreSQL (PGlite) errors', () => {
  it('drop the DETAIL and the quoted value there too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'log-pglite-'));
    const db = await openDatabase({ url: '', dataDir: dir });
    const lines: string[] = [];
    const logger = createLogger('info', 'test', { write: (l: string) => void lines.push(l) });
    const secret = `tok_${randomBytes(12).toString('hex')}`;
    try {
      await db.query('CREATE TABLE t (email text UNIQUE)');
      await db.query('INSERT INTO t VALUES ($1)', ['pglite@example.com']);
      for (const [sql, params] of [['INSERT INTO t VALUES ($1)', ['pglite@example.com']], ['SELECT $1::uuid', [secret]]] as const) {
        const err = await db.query(sql, [...params]).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(Error);
        logger.error({ err }, 'query failed');
      }
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const entries = lines.map((l) => JSON.parse(l) as { err: Record<string, unknown> });
    expect(entries.map((e) => e.err.code)).toEqual(['23505', '22P02']);
    expect(lines.join('')).not.toContain('pglite@example.com');
    expect(lines.join('')).not.toContain(secret);
    // Opening PGlite compiles its WebAssembly: 10-15 s, more on a loaded machine (as in pglite.test.ts).
  }, 90_000);
});

describe.skipIf(!hasPostgres)('log lines', () => {
  const authLines: string[] = [];
  const courseLines: string[] = [];
  let database: TestDatabase;
  let auth: AuthApp;
  let course: CourseHarness;
  const email = `logged-${randomBytes(4).toString('hex')}@example.com`;
  const secretish = `tok_${randomBytes(12).toString('hex')}`;

  beforeAll(async () => {
    database = await createTestDatabase('auth-service');
    const config = testAuthConfig({
      database: { url: database.url, migrateOnStart: false },
      redis: { url: hasRedis ? REDIS_URL : '', keyPrefix: `test:${randomBytes(4).toString('hex')}:` },
      mail: { workerEnabled: false },
      log: { level: 'info' },
    });
    auth = await buildAuthApp(config, { logger: createLogger('info', 'auth-service', { write: (l: string) => void authLines.push(l) }) });
    // Database errors no route handles: a unique violation (its DETAIL quotes the e-mail) and an input
    // PostgreSQL cannot read (its message quotes the value).
    auth.app.post('/test/duplicate-user', async () => {
      for (let n = 0; n < 2; n++) {
        await auth.db.query(`INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'Dup')`, [newId(), email]);
      }
      return {};
    });
    auth.app.post('/test/bad-cast', async () => {
      await auth.db.query('SELECT $1::uuid', [secretish]);
      return {};
    });
    await auth.app.ready();
    course = await startCourse({ logger: createLogger('info', 'course-service', { write: (l: string) => void courseLines.push(l) }) });
  });
  afterAll(async () => {
    await course?.close();
    await auth?.app.close();
    await database?.drop();
  });

  it('logs a database error by its code and constraint, without the DETAIL, the values or the parameters', async () => {
    expect((await auth.app.inject({ method: 'POST', url: '/test/duplicate-user' })).statusCode).toBe(500);
    expect((await auth.app.inject({ method: 'POST', url: '/test/bad-cast' })).statusCode).toBe(500);
    const failures = authLines.map((l) => JSON.parse(l) as { msg?: string; err?: Record<string, unknown> }).filter((e) => e.msg === 'request failed');
    expect(failures).toHaveLength(2);
    expect(failures[0]!.err).toMatchObject({ code: '23505', constraint: expect.stringMatching(/email/) });
    expect(failures[0]!.err).not.toHaveProperty('detail');
    expect(failures[1]!.err).toMatchObject({ code: '22P02', message: expect.stringContaining('invalid input syntax for type uuid') });
    const log = authLines.join('');
    expect(log).not.toContain(email);
    expect(log).not.toContain(secretish);
  });

  it('writes every line as JSON with unique keys: requests, refusals, errors and the hashing threads', async () => {
    const threads = await HashThreads.start({ niceness: 10, idle: true, holdMs: 60_000 }, fakePool());
    reportHashThreads(auth.app, threads, 10);
    threads.slowHash();
    await threads.settled();
    threads.close();

    await auth.app.inject({ method: 'GET', url: '/healthz' });
    await auth.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 'nobody@example.com', password: 'wrong password 1' } });
    await auth.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: 1 } });
    await auth.app.inject({ method: 'GET', url: '/nowhere' });
    await course.app.inject({ method: 'GET', url: '/api/v1/courses' });
    await course.app.inject({ method: 'GET', url: `/api/v1/courses/${randomUUID()}` });
    await course.app.inject({ method: 'GET', url: '/api/v1/courses?limit=abc' });
    // A caller that names a field as pino does keeps its value, under `fields`.
    auth.app.log.info({ level: 'mine', time: 1, reqId: 'r' }, 'clashing fields');

    const priority = authLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => String(e.msg).startsWith('password hashing threads'));
    expect(priority.map((e) => [e.level, e.priority])).toEqual([
      ['info', 'idle'],
      ['warn', 'nice'],
    ]);
    const clashing = authLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === 'clashing fields');
    expect(clashing).toMatchObject({ level: 'info', fields: { level: 'mine', time: 1, reqId: 'r' } });

    for (const [service, lines] of [['auth-service', authLines], ['course-service', courseLines]] as const) {
      expect(lines.length, service).toBeGreaterThan(5);
      for (const line of lines) {
        expect(() => JSON.parse(line), line).not.toThrow();
        expect(duplicateKeys(line), line).toEqual([]);
      }
    }
  });
});
