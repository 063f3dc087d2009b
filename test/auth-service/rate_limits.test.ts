/** Rate limits in Redis (memory when Redis is absent): 429 with a numeric Retry-After. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres, hasRedis, REDIS_URL } from '../helpers/services.js';
import { startAuth, type AuthHarness, type CallResult } from '../helpers/auth_app.js';
import { RateLimiter } from '../../internal/auth-service/services/rate_limiter.js';
import { MemoryStore, RedisStore, type KeyValueStore } from '../../internal/shared/utils/redis.js';

const WINDOW = 60;
const LIMITS = {
  loginFailuresPerEmailIp: { limit: 3, windowSec: WINDOW },
  loginFailuresPerIp: { limit: 8, windowSec: WINDOW },
  registrationsPerIp: { limit: 2, windowSec: WINDOW },
  mailsPerIp: { limit: 100, windowSec: WINDOW },
  mailsPerEmail: { limit: 2, windowSec: WINDOW },
};

function expectLimited(res: CallResult): void {
  expect(res.status).toBe(429);
  expect(res.body.code).toBe('rate_limited');
  const retryAfter = res.headers['retry-after'];
  expect(String(retryAfter)).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(WINDOW);
}

describe.skipIf(!hasPostgres)('rate limits', () => {
  let h: AuthHarness;
  let ipCounter = 0;
  // Each test comes from its own client address, so the per-IP windows of one test do not leak into the next.
  const ip = () => `10.0.0.${++ipCounter}`;
  const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

  beforeAll(async () => {
    h = await startAuth({ rateLimits: LIMITS, http: { trustProxy: true } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const login = (email: string, password: string, address: string) =>
    h.call('POST', '/api/v1/auth/login', { body: { email, password }, ...from(address) });

  it('locks an e-mail and IP after the failed logins allowed, even for the right password', async () => {
    const u = await h.newUser();
    const address = ip();
    for (let i = 0; i < LIMITS.loginFailuresPerEmailIp.limit; i++) {
      expect((await login(u.email, 'wrong password!', address)).status).toBe(401);
    }
    expectLimited(await login(u.email, 'wrong password!', address));
    expectLimited(await login(u.email, u.password, address));
    // The same account from another address, and another account from this one, are not locked.
    expect((await login(u.email, u.password, ip())).status).toBe(200);
    const other = await h.newUser();
    expect((await login(other.email, other.password, address)).status).toBe(200);
  });

  // Checked before the hash and counted after it, a burst of guesses all reached the hash together, and
  // a right password among them logged in long after the limit. Each attempt now takes its place first.
  for (const kind of hasRedis ? ['redis', 'memory'] : ['memory']) {
    it(`a parallel burst cannot slip the right password past the limit (${kind} store)`, async () => {
      const limit = 5;
      const strict = await startAuth(
        { rateLimits: { ...LIMITS, loginFailuresPerEmailIp: { limit, windowSec: WINDOW } }, http: { trustProxy: true }, ...(kind === 'memory' ? { redis: { url: '' } } : {}) },
        { database: h.database, smtp: h.smtp },
      );
      try {
        expect(strict.store.kind).toBe(kind);
        const u = await h.newUser();
        const address = ip();
        const attempt = (password: string) => strict.call('POST', '/api/v1/auth/login', { body: { email: u.email, password }, ...from(address) });
        for (let i = 0; i < limit - 1; i++) expect((await attempt('wrong password!')).status).toBe(401);
        const burst = await Promise.all([...Array.from({ length: 23 }, () => attempt('wrong password!')), attempt(u.password)]);
        const statuses = burst.map((r) => r.status);
        expect(burst.filter((r) => r.body?.accessToken !== undefined)).toHaveLength(0);
        // One place was left in the window: one guess reaches the hash, every other one is refused.
        expect(statuses.filter((s) => s === 401)).toHaveLength(1);
        expect(statuses.filter((s) => s === 429)).toHaveLength(23);
        expectLimited(burst[23]!);
        // The window stays full: the right password alone is refused too.
        expectLimited(await attempt(u.password));
      } finally {
        await strict.close();
      }
    });
  }

  it('a parallel burst of current passwords at password change cannot pass the limit either', async () => {
    const u = await h.newUser();
    const t = await h.login(u.email, u.password);
    const change = (currentPassword: string) =>
      h.call('POST', '/api/v1/auth/password/change', { token: t.accessToken, body: { currentPassword, newPassword: 'a different passphrase' }, ...from(ip()) });
    const limit = LIMITS.loginFailuresPerEmailIp.limit;
    for (let i = 0; i < limit - 1; i++) expect((await change('wrong password!')).status).toBe(403);
    const burst = await Promise.all([...Array.from({ length: 11 }, () => change('wrong password!')), change(u.password)]);
    const statuses = burst.map((r) => r.status);
    // One place was left: one guess reaches the hash (each request first checks its token in the
    // database, so which one is not fixed); every other one is refused.
    expect(statuses.filter((s) => s === 403 || s === 204)).toHaveLength(1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(11);
    if (statuses[11] === 429) {
      // The password did not change: the old one still logs in.
      expect((await login(u.email, u.password, ip())).status).toBe(200);
    }
  });

  it('successful logins do not count', async () => {
    const u = await h.newUser();
    const address = ip();
    for (let i = 0; i < LIMITS.loginFailuresPerEmailIp.limit + 2; i++) {
      expect((await login(u.email, u.password, address)).status).toBe(200);
    }
  });

  it('limits failed logins per IP across many e-mails (credential stuffing)', async () => {
    const address = ip();
    for (let i = 0; i < LIMITS.loginFailuresPerIp.limit; i++) {
      expect((await login(`nobody${i}-${randomBytes(3).toString('hex')}@example.com`, 'wrong password!', address)).status).toBe(401);
    }
    expectLimited(await login('yet-another@example.com', 'wrong password!', address));
  });

  it('limits registrations per IP', async () => {
    const address = ip();
    const register = (n: number) =>
      h.call('POST', '/api/v1/auth/register', { body: { email: `reg${n}-${randomBytes(3).toString('hex')}@example.com`, password: 'a fine passphrase', displayName: 'R' }, ...from(address) });
    for (let i = 0; i < LIMITS.registrationsPerIp.limit; i++) expect((await register(i)).status).toBe(202);
    expectLimited(await register(99));
    expect((await h.call('POST', '/api/v1/auth/register', { body: { email: 'elsewhere@example.com', password: 'a fine passphrase', displayName: 'R' }, ...from(ip()) })).status).toBe(202);
  });

  it('limits reset mails per e-mail, whatever the address asking, and sends no more mails', async () => {
    const u = await h.newUser();
    for (let i = 0; i < LIMITS.mailsPerEmail.limit; i++) {
      expect((await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email }, ...from(ip()) })).status).toBe(202);
    }
    expectLimited(await h.call('POST', '/api/v1/auth/password/forgot', { body: { email: u.email }, ...from(ip()) }));
    expectLimited(await h.call('POST', '/api/v1/auth/verify-email/resend', { body: { email: u.email.toUpperCase() }, ...from(ip()) }));
    await h.auth.settled(); // the mails are queued after the 202
    const { rows } = await h.database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND template = 'password_reset'", [u.id]);
    expect(rows[0]!.n).toBe(LIMITS.mailsPerEmail.limit);
  });

  it('limits wrong current passwords at password change', async () => {
    const u = await h.newUser();
    const t = await h.login(u.email, u.password);
    const change = (currentPassword: string) =>
      h.call('POST', '/api/v1/auth/password/change', { token: t.accessToken, body: { currentPassword, newPassword: 'a different passphrase' }, ...from(ip()) });
    for (let i = 0; i < LIMITS.loginFailuresPerEmailIp.limit; i++) expect((await change('wrong password!')).status).toBe(403);
    expectLimited(await change(u.password));
  });

  it.skipIf(!hasRedis)('counts in Redis, so every replica shares the same windows', async () => {
    expect(h.store.kind).toBe('redis');
    const replica = await startAuth(
      { rateLimits: LIMITS, http: { trustProxy: true }, redis: { url: REDIS_URL, keyPrefix: h.config.redis.keyPrefix } },
      { database: h.database, smtp: h.smtp },
    );
    try {
      const u = await h.newUser();
      const address = ip();
      // Failures spread over two replicas add up.
      expect((await login(u.email, 'wrong password!', address)).status).toBe(401);
      expect((await replica.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'wrong password!' }, ...from(address) })).status).toBe(401);
      expect((await login(u.email, 'wrong password!', address)).status).toBe(401);
      expectLimited(await replica.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password }, ...from(address) }));
      // The window lives in Redis and holds the failures only (a refused attempt takes its count back).
      expect(Number(await h.store.get(`rl:login-fail:${u.email}|${address}`))).toBe(LIMITS.loginFailuresPerEmailIp.limit);
    } finally {
      await replica.close();
    }
  });

  it('rateLimits.enabled=false switches every limit off', async () => {
    const open = await startAuth({ rateLimits: { ...LIMITS, enabled: false } }, { database: h.database, smtp: h.smtp });
    try {
      const u = await open.newUser();
      for (let i = 0; i < LIMITS.loginFailuresPerEmailIp.limit + 2; i++) {
        expect((await open.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: 'wrong password!' } })).status).toBe(401);
      }
      expect((await open.call('POST', '/api/v1/auth/login', { body: { email: u.email, password: u.password } })).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('RateLimiter.reserve', () => {
  const stores: [string, () => KeyValueStore][] = [['memory', () => new MemoryStore()]];
  if (hasRedis) stores.push(['redis', () => new RedisStore(REDIS_URL, `test:${randomBytes(4).toString('hex')}:`)]);
  for (const [kind, make] of stores) {
    it(`counts before the check, keeps failures, takes back successes and refusals (${kind})`, async () => {
      const store = make();
      if (store instanceof RedisStore && store.client.status !== 'ready') await new Promise((resolve) => store.client.once('ready', resolve));
      try {
        const limiter = new RateLimiter(store, true);
        const counter = { name: 'unit', subject: 's', window: { limit: 2, windowSec: 60 } };
        const first = await limiter.reserve(counter);
        expect(await store.get('rl:unit:s')).toBe('1');
        const second = await limiter.reserve(counter);
        // Both places are taken while their checks run: a third is refused at once, and counts nothing.
        await expect(limiter.reserve(counter)).rejects.toMatchObject({ status: 429 });
        expect(await store.get('rl:unit:s')).toBe('2');
        await second.release();
        await second.release(); // idempotent
        expect(await store.get('rl:unit:s')).toBe('1');
        void first; // kept: a failure
        await limiter.reserve(counter);
        await expect(limiter.reserve(counter)).rejects.toMatchObject({ status: 429 });
        // A release after the window ended leaves no counter behind (nor a negative one).
        await store.del('rl:unit:s');
        await first.release();
        expect(await store.get('rl:unit:s')).toBeNull();
      } finally {
        await store.close();
      }
    });
  }

  it('a refusal by one counter takes the attempt back from the others', async () => {
    const store = new MemoryStore();
    const limiter = new RateLimiter(store, true);
    const wide = { name: 'wide', subject: 'ip', window: { limit: 10, windowSec: 60 } };
    const narrow = { name: 'narrow', subject: 'e|ip', window: { limit: 1, windowSec: 60 } };
    await limiter.reserve(wide, narrow);
    for (let i = 0; i < 3; i++) await expect(limiter.reserve(wide, narrow)).rejects.toMatchObject({ status: 429 });
    expect(await store.get('rl:wide:ip')).toBe('1');
    expect(await store.get('rl:narrow:e|ip')).toBe('1');
  });
});
