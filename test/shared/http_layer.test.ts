/**
 * The shared HTTP layer (internal/shared/server.ts and its middleware) as both services run it:
 * path ids, validation errors, 304 answers, CORS preflights, the operations routes and trustProxy.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness, type CallResult } from '../helpers/auth_app.js';
import { startCourse, type CourseHarness } from '../helpers/course_app.js';
import { instructor, publishedCourse } from '../course-service/factories.js';
import { loadCourseConfig } from '../../internal/course-service/config.js';
import { EMBEDDED_CORS_ORIGINS } from '../../internal/shared/utils/config.js';
import { createServer } from '../../internal/shared/server.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { Type } from '@sinclair/typebox';

function expectProblem(res: CallResult, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

describe.skipIf(!hasPostgres)('shared HTTP layer', () => {
  let auth: AuthHarness;
  let course: CourseHarness;
  let admin: { accessToken: string };
  const addresses = new Map<unknown, Promise<string>>();
  /** Where an app listens (it starts listening on first use; closing the app stops it). */
  const addressOf = (app: AuthHarness['app']): Promise<string> => {
    if (!addresses.has(app)) addresses.set(app, app.listen({ port: 0, host: '127.0.0.1' }));
    return addresses.get(app)!;
  };

  beforeAll(async () => {
    auth = await startAuth();
    course = await startCourse();
    const user = await auth.newUser({ role: 'admin' });
    admin = await auth.login(user.email, user.password);
  });
  afterAll(async () => {
    await course?.close();
    await auth?.close();
  });

  it('refuses ids that are not canonical UUIDs (urn:uuid:, braces, no hyphens) with 400 validation_failed, never a 500', async () => {
    const id = randomUUID();
    for (const bad of [`urn:uuid:${id}`, `URN:UUID:${id}`, `{${id}}`, id.replaceAll('-', '')]) {
      const enc = encodeURIComponent(bad);
      expectProblem(await auth.call('DELETE', `/api/v1/admin/users/${enc}/sessions`, { token: admin.accessToken }), 400, 'validation_failed');
      expectProblem(await auth.call('POST', `/api/v1/admin/notifications/${enc}/retry`, { token: admin.accessToken }), 400, 'validation_failed');
      expectProblem(await auth.call('DELETE', `/api/v1/auth/sessions/${enc}`, { token: admin.accessToken }), 400, 'validation_failed');
      expectProblem(await course.call('GET', `/api/v1/reviews/${enc}`), 400, 'validation_failed');
      expectProblem(await course.call('GET', `/api/v1/reviews?authorId=${enc}`), 400, 'validation_failed');
    }
    // The canonical form, in either case, still names nothing rather than being refused.
    expectProblem(await course.call('GET', `/api/v1/reviews/${id.toUpperCase()}`), 404, 'review_not_found');
    expect((await auth.call('DELETE', `/api/v1/admin/users/${id}/sessions`, { token: admin.accessToken })).status).toBe(404);
  });

  it('answers 304 without Content-Type and without Content-Length, through inject and over a socket', async () => {
    const created = await publishedCourse(course.db, course.courses, instructor());
    const targets: [string, AuthHarness['app'], string][] = [
      ['auth-service JWKS (ETag plugin)', auth.app, '/.well-known/jwks.json'],
      ['course-service detail (response cache)', course.app, `/api/v1/courses/${created.id}`],
      ['course-service list (response cache)', course.app, '/api/v1/courses'],
    ];
    for (const [what, app, url] of targets) {
      const first = await app.inject({ method: 'GET', url });
      expect(first.statusCode, what).toBe(200);
      const tag = String(first.headers.etag);
      // Twice: the second may come from the cache (another path through the code).
      for (let n = 0; n < 2; n++) {
        const injected = await app.inject({ method: 'GET', url, headers: { 'if-none-match': tag } });
        expect(injected.statusCode, what).toBe(304);
        expect(injected.headers['content-type'], what).toBeUndefined();
        expect(injected.headers['content-length'], what).toBeUndefined();
        expect(injected.body).toBe('');
        expect(injected.headers.etag).toBe(tag);
      }
      const raw = await rawGet(`${await addressOf(app)}${url}`, { 'if-none-match': tag });
      expect(raw.status, what).toBe(304);
      expect(raw.headers['content-type'], what).toBeUndefined();
      expect(raw.headers['content-length'], what).toBeUndefined();
      expect(raw.headers['transfer-encoding'], what).toBeUndefined();
    }
  });

  it('names every wrong field of a request, up to 20, in the body and in the query string', async () => {
    const res = await auth.call('POST', '/api/v1/auth/register', { body: { email: 'not-an-email', password: 1, displayName: 5, role: 'admin' } });
    expectProblem(res, 400, 'validation_failed');
    const paths = (res.body.errors as { path: string; message: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['body.email', 'body.password', 'body.displayName', 'body.role']));
    expect(res.body.errors.find((e: { path: string }) => e.path === 'body.role').message).toBe('is not an allowed field');

    const many = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`extra${i}`, i]));
    const capped = await auth.call('POST', '/api/v1/auth/login', { body: { email: 'a@example.com', password: 'a password', ...many } });
    expectProblem(capped, 400, 'validation_failed');
    expect(capped.body.errors).toHaveLength(20);

    const query = await course.call('GET', '/api/v1/courses?limit=abc&sort=bogus');
    expectProblem(query, 400, 'validation_failed');
    expect(query.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(['querystring.limit', 'querystring.sort']));
  });

  it('names the wrong fields of a huge refused body too, from a bounded copy (maxItems still reported)', async () => {
    const app = await createServer({
      service: 'probe',
      version: '0',
      description: 'probe',
      logger: createLogger('silent', 'probe'),
      http: { bodyLimit: 65536, corsOrigins: [], trustProxy: false },
      readiness: [],
      tags: [],
    });
    app.post('/probe', { schema: { body: Type.Object({ title: Type.String(), tags: Type.Array(Type.String(), { maxItems: 10 }) }, { additionalProperties: false }) } }, async () => ({ ok: true }));
    try {
      const res = await app.inject({ method: 'POST', url: '/probe', payload: { title: 5, tags: Array.from({ length: 30_000 }, () => 1) } });
      expect(res.statusCode).toBe(400);
      const errors = (JSON.parse(res.body) as { errors: { path: string; message: string }[] }).errors;
      expect(errors).toHaveLength(20);
      expect(errors[0]).toEqual({ path: 'body.title', message: 'must be string' });
      expect(errors.some((e) => e.path === 'body.tags' && /more than 10/.test(e.message))).toBe(true);
      const ok = await app.inject({ method: 'POST', url: '/probe', payload: { title: 'x', tags: ['a'] } });
      expect(ok.statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  describe('CORS', () => {
    const preflight = (origin: string, url = '/api/v1/courses') => ({
      method: 'OPTIONS' as const,
      url,
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

    it('answers every preflight 204, never 404: closed by default, so without CORS headers', async () => {
      for (const [app, url] of [[auth.app, '/api/v1/auth/login'], [course.app, '/api/v1/courses'], [course.app, '/no/such/path'], [auth.app, '/api/v1/users/me']] as const) {
        const res = await app.inject(preflight('http://localhost:5173', url));
        expect(res.statusCode, url).toBe(204);
        expect(res.body).toBe('');
        expect(res.headers['access-control-allow-origin'], url).toBeUndefined();
        expect(res.headers['access-control-allow-methods'], url).toBeUndefined();
        expect(res.headers['content-length'], url).toBeUndefined();
      }
      // An OPTIONS that is not a preflight is routed as usual.
      expect((await course.app.inject({ method: 'OPTIONS', url: '/no/such/path' })).statusCode).toBe(404);
    });

    it('on the npm start default, a front end on any localhost port works: preflight answered, origin echoed, no credentials', async () => {
      const corsOrigins = loadCourseConfig({ env: { CORS_ORIGINS: EMBEDDED_CORS_ORIGINS } }).http.corsOrigins;
      const local = await startCourse({ database: course.database, overrides: { http: { corsOrigins } } });
      try {
        for (const origin of ['http://localhost:5173', 'http://localhost:3000', 'http://127.0.0.1:8080']) {
          const pre = await local.app.inject(preflight(origin, `/api/v1/courses/${randomUUID()}/reviews`));
          expect(pre.statusCode, origin).toBe(204);
          expect(pre.headers['access-control-allow-origin'], origin).toBe(origin);
          expect(String(pre.headers['access-control-allow-methods'])).toContain('PATCH');
          expect(String(pre.headers['access-control-allow-headers'])).toMatch(/authorization.*content-type|content-type.*authorization/);
          expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
          expect(String(pre.headers.vary)).toMatch(/origin/i);
          const get = await local.app.inject({ method: 'GET', url: '/api/v1/courses', headers: { origin } });
          expect(get.statusCode).toBe(200);
          expect(get.headers['access-control-allow-origin']).toBe(origin);
          expect(String(get.headers['access-control-expose-headers'])).toContain('etag');
          expect(String(get.headers.vary)).toMatch(/origin/i);
        }
        for (const origin of ['http://localhost:5173.evil.example', 'https://localhost:5173', 'http://localhost', 'http://evil.example:5173', 'null']) {
          const pre = await local.app.inject(preflight(origin));
          expect(pre.statusCode, origin).toBe(204);
          expect(pre.headers['access-control-allow-origin'], origin).toBeUndefined();
          const get = await local.app.inject({ method: 'GET', url: '/api/v1/courses', headers: { origin } });
          expect(get.headers['access-control-allow-origin'], origin).toBeUndefined();
        }
      } finally {
        await local.close();
      }
    });

    it('with production settings allows only the configured origins, and refuses a malformed entry at start', async () => {
      const prod = await startCourse({ database: course.database, overrides: { http: { corsOrigins: ['https://app.example'] } } });
      try {
        const ok = await prod.app.inject(preflight('https://app.example'));
        expect(ok.headers['access-control-allow-origin']).toBe('https://app.example');
        // An answer to a request without Origin says Vary: Origin too, so a shared cache keeps them apart
        // (the second read is a cache HIT and must say it as well).
        for (let i = 0; i < 2; i++) {
          const plain = await prod.app.inject({ method: 'GET', url: '/api/v1/courses' });
          expect(plain.statusCode).toBe(200);
          expect(String(plain.headers.vary), `read ${i}`).toMatch(/origin/i);
        }
        for (const origin of ['http://localhost:5173', 'https://app.example.evil', 'http://app.example']) {
          const res = await prod.app.inject(preflight(origin));
          expect(res.statusCode).toBe(204);
          expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
        }
      } finally {
        await prod.close();
      }
      for (const bad of ['https://app.example/', 'app.example', 'https://*.example', 'ftp://app.example']) {
        expect(() => loadCourseConfig({ env: { CORS_ORIGINS: bad } }), bad).toThrow(/http\.corsOrigins/);
      }
    });
  });

  describe('operations endpoints', () => {
    it('by default /metrics is open and /docs serves Swagger UI and the document', async () => {
      const metrics = await course.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toContain('http_request_duration_seconds');
      expect((await auth.app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200);
      expect((await auth.app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);
    });

    it('with metricsToken set, /metrics needs that bearer token; with docs off, /docs is gone but the document is still built', async () => {
      const token = `metrics-${randomUUID()}`;
      const closed = await startAuth({ http: { metricsToken: token, docs: false } }, { database: auth.database, smtp: auth.smtp });
      try {
        for (const authorization of [undefined, 'Bearer wrong', `Bearer ${token}x`, `Basic ${token}`, token, `Bearer ${token.slice(0, -1)}`]) {
          const res = await closed.call('GET', '/metrics', { headers: authorization ? { authorization } : {} });
          expectProblem(res, 401, 'unauthorized');
          expect(res.headers['www-authenticate']).toBe('Bearer');
          expect(res.text).not.toContain('http_request_duration_seconds');
        }
        const ok = await closed.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${token}` } });
        expect(ok.statusCode).toBe(200);
        expect(ok.body).toContain('http_request_duration_seconds');
        for (const url of ['/docs', '/docs/json', '/docs/yaml', '/docs/static/index.html']) {
          expect((await closed.app.inject({ method: 'GET', url })).statusCode, url).toBe(404);
        }
        expect((closed.app.swagger() as { paths: Record<string, unknown> }).paths['/api/v1/auth/login']).toBeDefined();
      } finally {
        await closed.close();
      }
    });

    it('reads METRICS_TOKEN and DOCS_ENABLED from the environment', () => {
      const config = loadCourseConfig({ env: { METRICS_TOKEN: 'scrape-me', DOCS_ENABLED: 'false' } });
      expect(config.http).toMatchObject({ metricsToken: 'scrape-me', docs: false });
      expect(loadCourseConfig({ env: {} }).http).toMatchObject({ metricsToken: '', docs: true });
    });
  });

  describe('trustProxy', () => {
    /** The client address auth-service records for a login (the session's ip) under `trustProxy`. */
    async function ipSeen(trustProxy: unknown, remoteAddress: string, forwarded?: string): Promise<string | null> {
      const h = await startAuth({ http: { trustProxy } }, { database: auth.database, smtp: auth.smtp });
      try {
        const user = await auth.newUser();
        const login = await h.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          remoteAddress,
          headers: { 'content-type': 'application/json', ...(forwarded ? { 'x-forwarded-for': forwarded } : {}) },
          payload: { email: user.email, password: user.password },
        });
        expect(login.statusCode, login.body).toBe(200);
        const sessions = await h.call('GET', '/api/v1/auth/sessions', { token: (JSON.parse(login.body) as { accessToken: string }).accessToken });
        return (sessions.body.items as { ip: string | null; current: boolean }[]).find((x) => x.current)!.ip;
      } finally {
        await h.close();
      }
    }

    it('believes X-Forwarded-For only as far as the setting says: nobody, n hops, listed proxies, or anyone', async () => {
      const xff = '203.0.113.9, 198.51.100.7';
      expect(await ipSeen(false, '10.1.2.3', xff)).toBe('10.1.2.3');
      // One hop: the ingress in front; what it appended is the client, what the client wrote is not.
      expect(await ipSeen(1, '10.1.2.3', xff)).toBe('198.51.100.7');
      expect(await ipSeen(2, '10.1.2.3', xff)).toBe('203.0.113.9');
      expect(await ipSeen(1, '10.1.2.3')).toBe('10.1.2.3');
      // A list: only a listed peer's header counts.
      expect(await ipSeen(['10.0.0.0/8', '127.0.0.1'], '10.1.2.3', xff)).toBe('198.51.100.7');
      expect(await ipSeen(['10.0.0.0/8', '127.0.0.1'], '192.0.2.1', xff)).toBe('192.0.2.1');
      // true believes the left-most address, which any client can write.
      expect(await ipSeen(true, '10.1.2.3', xff)).toBe('203.0.113.9');
    });

    it('reads TRUST_PROXY as a boolean, a hop count or a list, and refuses what is none of them', () => {
      const read = (value: string) => loadCourseConfig({ env: { TRUST_PROXY: value } }).http.trustProxy;
      expect(read('true')).toBe(true);
      expect(read('false')).toBe(false);
      expect(read('1')).toBe(1);
      expect(read('0')).toBe(0);
      expect(read('10.0.0.0/8, 127.0.0.1')).toEqual(['10.0.0.0/8', '127.0.0.1']);
      expect(read('["fd00::/8","loopback"]')).toEqual(['fd00::/8', 'loopback']);
      for (const bad of ['-1', 'yes', 'proxy.example.com', '10.0.0.0/8;rm']) {
        expect(() => read(bad), bad).toThrow(/http\.trustProxy/);
      }
    });
  });
});

/** A GET over a real socket, with the headers exactly as sent (fetch would hide some). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}
