/**
 * Fault: course-service killed with SIGKILL in the middle of review writes (the real built service as a
 * child process, real PostgreSQL and Redis, real tokens from auth-service's JWKS).
 *
 * Many users create, edit and delete their reviews of one course concurrently; the child is killed
 * while requests are in flight. Then, reading the database directly:
 * - no half-written review: each row's rating, title and body come from one single request that
 *   user sent, by that author, and every acknowledged write is there (the row is the last acknowledged
 *   write or the one in flight at the kill; an acknowledged delete stays deleted);
 * - the course's rating aggregate equals a recount of its visible reviews;
 * - the outbox is complete and exact: one `review_created` event per review that was ever committed
 *   (existing or deleted afterwards), none for a create that did not commit, none twice.
 * A restarted child is ready at once and the course takes writes again (no lock left behind).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, hasRedis, REDIS_URL, redisTestPrefix } from '../helpers/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { CourseService } from '../../internal/course-service/services/course_service.js';
import { EnrolmentService } from '../../internal/course-service/services/enrolment_service.js';
import { instructor, publishedCourse, student } from '../course-service/factories.js';

const ROOT = join(import.meta.dirname, '..', '..');
const USERS = 24;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Child {
  process: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

type Op = { kind: 'create' | 'patch'; k: number; reviewId?: string } | { kind: 'delete'; reviewId: string };

interface Writer {
  idx: number;
  id: string;
  name: string;
  token: string;
  /** The review the service acknowledged as existing, and the write (k) it last acknowledged for it. */
  live: string | null;
  lastK: number | null;
  /** The request without an answer when the child died. */
  inFlight: Op | null;
  k: number;
  createdIds: Set<string>;
  deletedIds: Set<string>;
}

function text(w: Writer, k: number, rating: number) {
  const title = `u${w.idx}-k${k}-r${rating}`;
  return { rating, title, body: `body of ${title}` };
}

describe.skipIf(!hasPostgres || !hasRedis)('fault: course-service killed with SIGKILL during writes', () => {
  let auth: AuthHarness;
  let jwksUrl: string;
  let database: TestDatabase;
  let courseId: string;
  let port: number;
  let child: Child | undefined;
  let buildDir: string | undefined;
  let main: string;
  const varDir = mkdtempSync(join(tmpdir(), 'sigkill-course-'));
  // The child's cache keys go under the run's prefix too (deleted when the run ends).
  const redisPrefix = redisTestPrefix('sigkill');
  const writers: Writer[] = [];

  function startChild(): Child {
    const proc = spawn(process.execPath, [main], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        DATABASE_URL: database.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: redisPrefix,
        COURSE_PORT: String(port),
        HOST: '127.0.0.1',
        JWKS_URL: jwksUrl,
        AUTH_URL: jwksUrl.replace(/\/\.well-known.*$/, ''),
        COURSE_CLIENT_SECRET: '',
        MIGRATE_ON_START: 'false',
        VAR_DIR: varDir,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 50) output.shift();
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    return { process: proc, output, exited };
  }

  async function waitReady(c: Child, timeoutMs = 20_000): Promise<number> {
    const start = Date.now();
    while (Date.now() - start < timeoutMs) {
      if (c.process.exitCode !== null) throw new Error(`course-service exited: ${c.output.join('')}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return Date.now() - start;
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    throw new Error(`course-service not ready within ${timeoutMs} ms: ${c.output.join('')}`);
  }

  beforeAll(async () => {
    // The child runs the service built from these sources into a fresh folder, never whatever dist/
    // holds (stale, or half-written by a concurrent `npm run build`). Only main.ts and what it imports
    // are compiled. The folder is under dist/ because the service finds its config files and
    // node_modules by walking up from its own file. A type error elsewhere in the tree still emits;
    // only a missing entry point stops the test.
    mkdirSync(join(ROOT, 'dist'), { recursive: true });
    buildDir = mkdtempSync(join(ROOT, 'dist', 'test-sigkill-'));
    writeFileSync(
      join(buildDir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        compilerOptions: { outDir: buildDir, rootDir: ROOT, sourceMap: false, incremental: false },
        files: [join(ROOT, 'cmd', 'course-service', 'main.ts')],
        include: [],
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await promisify(execFile)(process.execPath, [tsc, '-p', join(buildDir, 'tsconfig.json')], { cwd: ROOT }).catch((err: { stdout?: string }) => {
      console.error(`[faults_sigkill] tsc reported errors; using what it emitted:\n${String(err.stdout ?? err).slice(0, 2000)}`);
    });
    main = join(buildDir, 'cmd', 'course-service', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} was not built`);

    auth = await startAuth();
    jwksUrl = `${await auth.app.listen({ port: 0, host: '127.0.0.1' })}/.well-known/jwks.json`;
    database = await createTestDatabase('course-service');
    courseId = (await publishedCourse(database.db, new CourseService({ db: database.db }), instructor())).id;
    for (let idx = 0; idx < USERS; idx++) {
      const u = await auth.newUser();
      const { accessToken } = await auth.login(u.email, u.password);
      // Reviews come from the course's learners (reviews.requireEnrolment).
      await new EnrolmentService({ db: database.db }).enrol(student({ sub: u.id, name: u.displayName }), courseId);
      writers.push({ idx, id: u.id, name: u.displayName, token: accessToken, live: null, lastK: null, inFlight: null, k: 0, createdIds: new Set(), deletedIds: new Set() });
    }
    port = await freePort();
    // The build alone takes 15-45 s, depending on what else the machine is doing.
  }, 180_000);

  afterAll(async () => {
    if (child && child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill('SIGKILL');
      await child.exited;
    }
    await auth?.close();
    await database?.drop();
    rmSync(varDir, { recursive: true, force: true });
    if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  });

  it('leaves no half-written review, an exact aggregate and a complete outbox, and restarts cleanly', async () => {
    child = startChild();
    const startMs = await waitReady(child);
    const base = `http://127.0.0.1:${port}`;
    let killed = false;
    const unexpected: string[] = [];
    let acknowledged = 0;
    let inFlight = 0;

    const send = async (w: Writer, method: string, path: string, body?: object): Promise<Response | undefined> => {
      inFlight++;
      try {
        return await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${w.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        if (!killed) unexpected.push(`${method} ${path}: ${(err as Error).message}`);
        return undefined;
      } finally {
        inFlight--;
      }
    };

    const run = async (w: Writer) => {
      while (!killed) {
        const k = ++w.k;
        const rating = 1 + ((w.idx + k) % 5);
        let res: Response | undefined;
        if (w.live === null) {
          w.inFlight = { kind: 'create', k };
          res = await send(w, 'POST', `/api/v1/courses/${courseId}/reviews`, text(w, k, rating));
          if (!res) return;
          const json = (await res.json().catch(() => undefined)) as { id?: string } | undefined;
          if (res.status !== 201 || !json?.id) {
            unexpected.push(`create ${res.status} ${JSON.stringify(json)}`);
            return;
          }
          w.live = json.id;
          w.lastK = k;
          w.createdIds.add(json.id);
        } else if (k % 3 === 0) {
          const id = w.live;
          w.inFlight = { kind: 'delete', reviewId: id };
          res = await send(w, 'DELETE', `/api/v1/reviews/${id}`);
          if (!res) return;
          await res.arrayBuffer();
          if (res.status !== 204) {
            unexpected.push(`delete ${res.status}`);
            return;
          }
          w.live = null;
          w.lastK = null;
          w.deletedIds.add(id);
        } else {
          w.inFlight = { kind: 'patch', k, reviewId: w.live };
          res = await send(w, 'PATCH', `/api/v1/reviews/${w.live}`, text(w, k, rating));
          if (!res) return;
          const json = (await res.json().catch(() => undefined)) as { title?: string } | undefined;
          if (res.status !== 200 || json?.title !== text(w, k, rating).title) {
            unexpected.push(`patch ${res.status} ${JSON.stringify(json)}`);
            return;
          }
          w.lastK = k;
        }
        w.inFlight = null;
        acknowledged++;
      }
    };
    // Anonymous readers keep the cache warm, as real traffic would.
    const read = async () => {
      while (!killed) {
        try {
          const res = await fetch(`${base}/api/v1/courses/${courseId}`, { signal: AbortSignal.timeout(10_000) });
          await res.arrayBuffer();
        } catch {
          return;
        }
      }
    };
    const loops = [...writers.map(run), read(), read()];

    // Kill once the load is well under way, at a moment with many requests in flight.
    const loadStart = Date.now();
    while (Date.now() - loadStart < 8000 && (acknowledged < 300 || inFlight < USERS / 2)) await sleep(5);
    expect(unexpected).toEqual([]);
    killed = true;
    const inFlightAtKill = inFlight;
    child.process.kill('SIGKILL');
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');
    await Promise.all(loops);
    expect(unexpected).toEqual([]);
    expect(inFlightAtKill).toBeGreaterThan(0);

    // PostgreSQL has seen the killed connections go (their open transactions rolled back).
    const gone = Date.now();
    for (;;) {
      const { rows } = await database.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'course-service'",
      );
      if (rows[0]!.n === 0) break;
      if (Date.now() - gone > 10_000) throw new Error(`${rows[0]!.n} connections of the killed service still open`);
      await sleep(50);
    }

    const byAuthor = new Map(writers.map((w) => [w.id, w]));
    const { rows: reviews } = await database.db.query<{
      id: string;
      course_id: string;
      author_id: string;
      author_name: string;
      rating: number;
      title: string | null;
      body: string | null;
      status: string;
    }>('SELECT id, course_id, author_id, author_name, rating::int AS rating, title, body, status FROM reviews');

    // 1. Every row is one whole write by its author, and no acknowledged write is lost.
    const rowByAuthor = new Map<string, (typeof reviews)[number]>();
    for (const r of reviews) {
      const w = byAuthor.get(r.author_id);
      expect(w, `review by a stranger: ${JSON.stringify(r)}`).toBeDefined();
      expect(rowByAuthor.has(r.author_id)).toBe(false);
      rowByAuthor.set(r.author_id, r);
      expect(r.course_id).toBe(courseId);
      expect(r.status).toBe('visible');
      expect(r.author_name).toBe(w!.name);
      const m = /^u(\d+)-k(\d+)-r(\d)$/.exec(r.title ?? '');
      expect(m, `title ${r.title}`).not.toBeNull();
      expect(Number(m![1])).toBe(w!.idx);
      expect(Number(m![3])).toBe(r.rating);
      expect(r.body).toBe(`body of ${r.title}`);
      const k = Number(m![2]);
      const op = w!.inFlight;
      const allowed = [w!.lastK, op && op.kind !== 'delete' ? op.k : null].filter((x) => x !== null);
      expect(allowed, `u${w!.idx}: row has write ${k}, acknowledged ${w!.lastK}, in flight ${JSON.stringify(op)}`).toContain(k);
      if (w!.live !== null) expect(r.id).toBe(w!.live);
      else expect(op?.kind, `u${w!.idx}: a review exists although none was acknowledged or in flight`).toBe('create');
    }
    for (const w of writers) {
      if (w.live !== null && !rowByAuthor.has(w.id)) {
        expect(w.inFlight?.kind, `u${w.idx}: acknowledged review ${w.live} is gone`).toBe('delete');
      }
      for (const id of w.deletedIds) expect(reviews.some((r) => r.id === id)).toBe(false);
    }

    // 2. The aggregate equals a recount.
    type AggregateRow = Record<'rating_count' | 'rating_sum' | 'rating_1' | 'rating_2' | 'rating_3' | 'rating_4' | 'rating_5' | 'n' | 's' | 'n1' | 'n2' | 'n3' | 'n4' | 'n5', number>;
    const { rows: agg } = await database.db.query<AggregateRow>(
      `SELECT c.rating_count, c.rating_sum, c.rating_1, c.rating_2, c.rating_3, c.rating_4, c.rating_5,
              r.n, r.s, r.n1, r.n2, r.n3, r.n4, r.n5
         FROM courses c,
              LATERAL (SELECT count(*)::int AS n, coalesce(sum(rating), 0)::int AS s,
                              count(*) FILTER (WHERE rating = 1)::int AS n1, count(*) FILTER (WHERE rating = 2)::int AS n2,
                              count(*) FILTER (WHERE rating = 3)::int AS n3, count(*) FILTER (WHERE rating = 4)::int AS n4,
                              count(*) FILTER (WHERE rating = 5)::int AS n5
                         FROM reviews WHERE course_id = c.id AND status = 'visible') r
        WHERE c.id = $1`,
      [courseId],
    );
    const a = agg[0]!;
    expect([a.rating_count, a.rating_sum, a.rating_1, a.rating_2, a.rating_3, a.rating_4, a.rating_5]).toEqual([a.n, a.s, a.n1, a.n2, a.n3, a.n4, a.n5]);
    expect(a.n).toBe(reviews.length);

    // 3. One review_created event per committed create: existing reviews, and acknowledged ones deleted since.
    const { rows: events } = await database.db.query<{ review_id: string; course_id: string; author_name: string; title: string }>(
      `SELECT payload->>'reviewId' AS review_id, payload->>'courseId' AS course_id, payload->>'authorName' AS author_name, payload->>'title' AS title
         FROM course_outbox WHERE type = 'review_created'`,
    );
    const eventCount = new Map<string, number>();
    for (const e of events) {
      eventCount.set(e.review_id, (eventCount.get(e.review_id) ?? 0) + 1);
      expect(e.course_id).toBe(courseId);
    }
    expect([...eventCount.values()].filter((n) => n !== 1)).toEqual([]);
    const acknowledgedCreates = new Set(writers.flatMap((w) => [...w.createdIds]));
    for (const r of reviews) expect(eventCount.has(r.id), `no event for review ${r.id}`).toBe(true);
    for (const id of acknowledgedCreates) expect(eventCount.has(id), `no event for acknowledged review ${id}`).toBe(true);
    const committed = new Set([...acknowledgedCreates, ...reviews.map((r) => r.id)]);
    expect(events.filter((e) => !committed.has(e.review_id))).toEqual([]);
    expect(events.length).toBe(committed.size);
    for (const e of events) {
      const w = writers.find((x) => x.createdIds.has(e.review_id) || rowByAuthor.get(x.id)?.id === e.review_id)!;
      expect(e.author_name).toBe(w.name);
      expect(e.title).toMatch(new RegExp(`^u${w.idx}-k\\d+-r\\d$`));
    }

    // 4. A restarted service is ready and takes writes on the same course (no lock left behind).
    child = startChild();
    const restartMs = await waitReady(child);
    // The anonymous (cached) answer after the restart, compared with the database: a write committed
    // just before the kill may have lost its cache invalidation (reported, not asserted; see the report).
    const cached = (await (await fetch(`${base}/api/v1/courses/${courseId}`)).json()) as { rating: { count: number } };
    // A new user: every writer may hold a review of the course at the kill (one run had none free).
    const newcomer = await auth.newUser();
    const { accessToken: newcomerToken } = await auth.login(newcomer.email, newcomer.password);
    const enrolled = await fetch(`${base}/api/v1/courses/${courseId}/enrolment`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${newcomerToken}` },
      signal: AbortSignal.timeout(5000),
    });
    expect(enrolled.status).toBe(201);
    const after = await fetch(`${base}/api/v1/courses/${courseId}/reviews`, {
      method: 'POST',
      headers: { authorization: `Bearer ${newcomerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ rating: 5, title: 'After the restart' }),
      signal: AbortSignal.timeout(5000),
    });
    expect(after.status).toBe(201);
    const { rows: post } = await database.db.query<{ rating_count: number }>('SELECT rating_count FROM courses WHERE id = $1', [courseId]);
    expect(post[0]!.rating_count).toBe(a.n + 1);

    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);

    const deletes = writers.reduce((n, w) => n + w.deletedIds.size, 0);
    console.error(
      `[faults_sigkill] ready in ${startMs} ms; ${acknowledged} writes acknowledged (${acknowledgedCreates.size} creates, ${deletes} deletes), ` +
        `${inFlightAtKill} in flight at the kill; ${reviews.length} reviews, ${events.length} events; restart ready in ${restartMs} ms; ` +
        `cached count after restart ${cached.rating.count} vs database ${a.n}`,
    );
  });
});
