/** Health, readiness (database down, Redis down), metrics and docs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, hasRedis } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';

// Nothing listens on port 1: connections are refused at once.
const DEAD_PG = 'postgres://postgres@127.0.0.1:1/none';
const DEAD_REDIS = 'redis://127.0.0.1:1';

describe.skipIf(!hasPostgres)('operations', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('/healthz is ok', async () => {
    const res = await h.call('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('/readyz is ok with the database (and Redis when configured)', async () => {
    // Redis connects in the background after start; until then readiness says degraded (still 200).
    let res = await h.call('GET', '/readyz');
    for (let i = 0; i < 40 && res.body.status !== 'ok'; i++) {
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
      res = await h.call('GET', '/readyz');
    }
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', checks: hasRedis ? { database: 'ok', redis: 'ok' } : { database: 'ok' } });
  });

  it('/metrics speaks Prometheus and counts requests by route pattern', async () => {
    const u = await h.newUser();
    await h.call('GET', `/api/v1/admin/users/${u.id}/sessions`);
    expect((await h.call('GET', `/api/v1/nothing-here/${u.id}`)).status).toBe(404);
    const res = await h.call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/healthz"/);
    // A request no route matched is counted under one label, whatever its URL.
    expect(res.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="unmatched"[^}]*status_code="404"[^}]*\} [1-9]/);
    expect(res.text).toContain('service="auth-service"');
    // Ids never become label values.
    expect(res.text).not.toContain(u.id);
  });

  it('/docs serves Swagger UI', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
  });

  it('/readyz is 503 "down" with Retry-After when the database is unreachable', async () => {
    const broken = await startAuth({ database: { url: DEAD_PG, migrateOnStart: false } }, { database: h.database, smtp: h.smtp });
    try {
      const res = await broken.call('GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('down');
      expect(res.body.checks.database).toBe('down');
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      // Liveness does not depend on the database: the process is fine, only not ready.
      expect((await broken.call('GET', '/healthz')).status).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it('with Redis unreachable: /readyz says degraded but 200, logins work and rate limits still hold (in memory)', async () => {
    const limits = { loginFailuresPerEmailIp: { limit: 2, windowSec: 60 } };
    const noRedis = await startAuth({ redis: { url: DEAD_REDIS, keyPrefix: 'dead:' }, rateLimits: limits }, { database: h.database, smtp: h.smtp });
    try {
      const ready = await noRedis.call('GET', '/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ status: 'degraded', checks: { database: 'ok', redis: 'down' } });

      const u = await noRedis.newUser();
      expect((await noRedis.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } })).status).toBe(200);
      for (let i = 0; i < 2; i++) {
        expect((await noRedis.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'wrong password!' } })).status).toBe(401);
      }
      const limited = await noRedis.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'wrong password!' } });
      expect(limited.status).toBe(429);
      expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      await noRedis.close();
    }
  });
});
