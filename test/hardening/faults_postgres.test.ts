/**
 * Fault: PostgreSQL connections cut (both services, real PostgreSQL behind a TCP proxy).
 *
 * Proves, for auth-service and course-service: while the connections are cut, a request that needs
 * the database answers 503 problem+json `service_unavailable` with `Retry-After` (never 500, never a
 * 401 for a valid token, never a hang), /readyz is 503 `down`; a query cut mid-flight is a 503 too;
 * after restore() the very same app answers again at once (the pg pool drops dead clients and
 * connects anew; no rebuild, no restart).
 *
 * And a partition, where PostgreSQL stops answering without closing anything: a query on an open
 * connection gives up shortly after the statement timeout (pg `query_timeout`), a transaction too (no
 * ROLLBACK sent into the dead connection), a new connection after `connectionTimeoutMillis` (5 s);
 * each a 503, never a request that hangs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { startCourse } from '../helpers/course_app.js';
import { isConnectionError } from '../../internal/shared/utils/database.js';
import { startAuth, type CallResult } from '../helpers/auth_app.js';
import { TcpProxy } from '../helpers/tcp_proxy.js';
import { CourseService } from '../../internal/course-service/services/course_service.js';
import { instructor, publishedCourse } from '../course-service/factories.js';

/** A DB outage answer: fast, 503, problem+json, stable code, Retry-After. */
function expectUnavailable(res: CallResult, elapsedMs: number, what: string): void {
  expect(res.status, `${what}: ${res.text}`).toBe(503);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status: 503, code: 'service_unavailable' });
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(res.text).not.toMatch(/ECONN|terminated|pg_|SELECT/i);
  expect(elapsedMs, `${what} took ${elapsedMs} ms`).toBeLessThan(2000);
}

/**
 * A service whose pool reaches PostgreSQL through a TcpProxy, set up and torn down around the describe
 * block that calls this. `start` gets the proxied database; its `db` (the test's own handle) goes
 * straight to PostgreSQL.
 */
function behindProxy<H extends { close(): Promise<void> }>(
  service: 'auth-service' | 'course-service',
  start: (proxied: TestDatabase) => Promise<H>,
): { database: TestDatabase; proxy: TcpProxy; harness: H } {
  const t = {} as { database: TestDatabase; proxy: TcpProxy; harness: H };
  beforeAll(async () => {
    t.database = await createTestDatabase(service);
    t.proxy = await new TcpProxy(t.database.url).listen();
    t.harness = await start({ ...t.database, url: t.proxy.urlFor(t.database.url) });
  });
  afterAll(async () => {
    await t.harness?.close();
    await t.proxy?.close();
    await t.database?.drop();
  });
  return t;
}

/** The path of a new published course, written straight to the database. */
async function publishedCoursePath(database: TestDatabase): Promise<string> {
  const course = await publishedCourse(database.db, new CourseService({ db: database.db }), instructor());
  return `/api/v1/courses/${course.id}`;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = Date.now();
  const out = await fn();
  return [out, Date.now() - start];
}

async function expectDown(call: (m: string, u: string) => Promise<CallResult>): Promise<void> {
  const ready = await call('GET', '/readyz');
  expect(ready.status).toBe(503);
  expect(ready.body.status).toBe('down');
  expect(ready.body.checks.database).toBe('down');
  expect(ready.headers['retry-after']).toMatch(/^\d+$/);
  expect((await call('GET', '/healthz')).status).toBe(200);
}

describe.skipIf(!hasPostgres)('fault: PostgreSQL connections cut, course-service', () => {
  const t = behindProxy('course-service', (database) => startCourse({ database, overrides: { cache: { enabled: false } } }));
  let path: string;
  beforeAll(async () => {
    path = await publishedCoursePath(t.database);
  });

  it('answers 503 with Retry-After while cut, also for a query cut mid-flight, and recovers without a rebuild', async () => {
    const { harness: h, proxy } = t;
    const ok = await h.call('GET', path);
    expect(ok.status).toBe(200);
    expect(ok.headers['x-cache']).toBe('BYPASS');
    // Several pooled connections are open when the cut comes.
    await Promise.all(Array.from({ length: 5 }, () => h.call('GET', '/api/v1/courses')));
    expect(proxy.stats.active).toBeGreaterThan(1);

    await proxy.cut();
    // At once: pooled clients whose sockets just died.
    const [first, firstMs] = await timed(() => h.call('GET', path));
    expectUnavailable(first, firstMs, 'GET right after the cut');
    // Then: the pool has dropped its dead clients and has to connect, which is refused.
    await new Promise((r) => setTimeout(r, 100));
    for (const url of [path, '/api/v1/courses', `${path}/reviews`, '/api/v1/categories']) {
      const [res, ms] = await timed(() => h.call('GET', url));
      expectUnavailable(res, ms, `GET ${url}`);
    }
    await expectDown(h.call);
    expect(proxy.stats.refused).toBeGreaterThan(0);

    // Back: the first request already succeeds, on the same app.
    await proxy.restore();
    const [back, backMs] = await timed(() => h.call('GET', path));
    expect(back.status).toBe(200);
    expect(back.body.id).toBe(ok.body.id);
    expect(backMs).toBeLessThan(2000);
    expect((await h.call('GET', '/readyz')).status).toBe(200);

    // A query in flight when the connection dies: 503, not 500, and the pool forgets that client.
    proxy.delay(400);
    const inFlight = timed(() => h.call('GET', path));
    await new Promise((r) => setTimeout(r, 150));
    await proxy.cut();
    const [cutRes, cutMs] = await inFlight;
    expectUnavailable(cutRes, cutMs, 'GET cut mid-flight');
    proxy.delay(0);
    await proxy.restore();
    const again = await Promise.all(Array.from({ length: 8 }, () => h.call('GET', path)));
    expect(again.map((r) => r.status)).toEqual(Array(8).fill(200));
  });
});

describe.skipIf(!hasPostgres)('fault: PostgreSQL connections cut, auth-service', () => {
  const t = behindProxy('auth-service', (database) => startAuth({}, { database }));

  it('answers 503 (not 401) with Retry-After while cut, and serves the same token and logins again after restore', async () => {
    const { harness: a, proxy, database } = t;
    const user = await a.newUser();
    const { accessToken } = await a.login(user.email, user.password);
    expect((await a.call('GET', '/api/v1/users/me', { token: accessToken })).status).toBe(200);

    await proxy.cut();
    await new Promise((r) => setTimeout(r, 100));
    const [me, meMs] = await timed(() => a.call('GET', '/api/v1/users/me', { token: accessToken }));
    expectUnavailable(me, meMs, 'GET /users/me');
    const [login, loginMs] = await timed(() => a.call('POST', '/api/v1/auth/login', { body: { email: user.email, password: user.password } }));
    expectUnavailable(login, loginMs, 'POST /auth/login');
    const [register, registerMs] = await timed(() =>
      a.call('POST', '/api/v1/auth/register', { body: { email: `cut-${Date.now()}@example.com`, password: 'Tq8-vex-Plo-93z-kWm', displayName: 'Cut' } }),
    );
    expectUnavailable(register, registerMs, 'POST /auth/register');
    await expectDown(a.call);
    expect(proxy.stats.refused).toBeGreaterThan(0);

    await proxy.restore();
    const [meAgain, meAgainMs] = await timed(() => a.call('GET', '/api/v1/users/me', { token: accessToken }));
    expect(meAgain.status).toBe(200);
    expect(meAgain.body.id).toBe(user.id);
    expect(meAgainMs).toBeLessThan(2000);
    expect((await a.call('POST', '/api/v1/auth/login', { body: { email: user.email, password: user.password } })).status).toBe(200);
    expect((await a.call('GET', '/readyz')).status).toBe(200);
    // Nothing from the failed register was half-kept: the address is free (202 either way, so look).
    const { rows } = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE email LIKE $1', ['cut-%']);
    expect(rows[0]!.n).toBe(0);
  });
});

describe.skipIf(!hasPostgres)('fault: PostgreSQL stops answering (partition), course-service', () => {
  // A 1 s statement timeout: the client gives up on a silent server 2 s after it (3 s).
  const t = behindProxy('course-service', (database) =>
    startCourse({ database, overrides: { cache: { enabled: false }, database: { statementTimeoutMs: 1000 } } }),
  );
  let path: string;
  beforeAll(async () => {
    path = await publishedCoursePath(t.database);
  });

  it('gives up on a silent server: 503 after the read timeout on open connections and the connect timeout on new ones', async () => {
    const { harness: h, proxy } = t;
    // Several open connections in the pool, so that what follows uses open ones, not new ones.
    const warm = await Promise.all(Array.from({ length: 4 }, () => h.call('GET', path)));
    expect(warm.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(proxy.stats.active).toBeGreaterThanOrEqual(2);

    // Open connections go silent: bytes are accepted, nothing comes back for a minute.
    proxy.delay(60_000);
    const [frozen, frozenMs] = await timed(() => h.call('GET', path));
    expect(frozen.status, frozen.text).toBe(503);
    expect(frozen.body.code).toBe('service_unavailable');
    expect(frozen.headers['retry-after']).toMatch(/^\d+$/);
    expect(frozenMs).toBeGreaterThanOrEqual(2900);
    expect(frozenMs).toBeLessThan(4500);
    // A transaction on a silent connection: one read timeout, no second wait for a ROLLBACK.
    const [txError, txMs] = await timed(() =>
      h.db.transaction((tx) => tx.query('SELECT 1')).then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    expect(isConnectionError(txError)).toBe(true);
    expect(txMs).toBeLessThan(4500);

    // Healed: the timed-out clients were dropped, the first request works.
    proxy.delay(0);
    const [healed, healedMs] = await timed(() => h.call('GET', path));
    expect(healed.status).toBe(200);
    expect(healedMs).toBeLessThan(1000);

    // New connections go unanswered (open connections are gone): connectionTimeoutMillis, 5 s.
    await proxy.cut('blackhole');
    // (Let the pool notice its reset clients first; one taken before that is a fast 503 of its own.)
    await new Promise((r) => setTimeout(r, 200));
    const [held, heldMs] = await timed(() => h.call('GET', path));
    expect(held.status, held.text).toBe(503);
    expect(held.body.code).toBe('service_unavailable');
    expect(heldMs).toBeGreaterThanOrEqual(4900);
    expect(heldMs).toBeLessThan(6000);
    await proxy.restore();
    expect((await h.call('GET', path)).status).toBe(200);
  });
});
