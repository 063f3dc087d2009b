/**
 * The revocation feed of auth-service (issue 18): triggers write an entry for every ended session and
 * every disabled or deleted account, whatever code path ended it; GET /api/v1/internal/revocations
 * serves the unexpired ones to service tokens only; the cursor never passes a transaction that may
 * still commit an earlier entry; expired entries are neither served nor kept; with Redis, a new entry
 * is announced on the channel.
 */
import { decodeJwt } from 'jose';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, hasPostgres, hasRedis } from '../helpers/services.js';
import { SERVICE_CLIENT, startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { openDatabase } from '../../internal/shared/utils/database.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { RevocationRepository } from '../../internal/auth-service/repository/revocation_repository.js';
import { RevocationFeed } from '../../internal/auth-service/services/revocation_feed.js';

interface Entry {
  kind: 'session' | 'user';
  subject: string;
  notBefore: string;
  expiresAt: string;
}
interface Page {
  items: Entry[];
  cursor: string;
  more: boolean;
}

describe.skipIf(!hasPostgres)('revocation feed (auth-service)', () => {
  const channel = `test-revocations-${newId()}`;
  let h: AuthHarness;
  let serviceToken: string;

  beforeAll(async () => {
    h = await startAuth({ revocations: { channel, publishIntervalMs: 50 } });
    const res = await h.call('POST', '/api/v1/auth/token', {
      form: { grant_type: 'client_credentials', client_id: SERVICE_CLIENT.id, client_secret: SERVICE_CLIENT.secret },
    });
    serviceToken = res.body.access_token;
  });
  afterAll(async () => {
    await h?.close();
  });

  const feed = (after?: string, token = serviceToken) =>
    h.call<Page>('GET', `/api/v1/internal/revocations${after ? `?after=${after}` : ''}`, { token });

  /**
   * The feed after `after` once its cursor has moved: the cursor waits for every transaction older than
   * the newest entry, and other tests' transactions on the same server count too (xmin is server-wide).
   */
  async function settledFeed(after: string) {
    const end = Date.now() + 5000;
    for (;;) {
      const res = await feed(after);
      if (res.body.cursor !== after || Date.now() > end) return res;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function signedIn(role: 'student' | 'admin' = 'student') {
    const user = await h.newUser({ role });
    const login = await h.login(user.email, user.password);
    return { ...user, ...login, sid: decodeJwt(login.accessToken).sid as string };
  }

  it('refuses callers without a service token: none 401, a user\'s or an admin\'s 403; nothing is read', async () => {
    const student = await signedIn();
    const admin = await signedIn('admin');
    const none = await h.call('GET', '/api/v1/internal/revocations');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('unauthorized');
    for (const token of [student.accessToken, admin.accessToken]) {
      const res = await feed(undefined, token);
      expect(res.status).toBe(403);
      expect((res.body as unknown as { code: string }).code).toBe('forbidden');
      expect((res.body as unknown as { items?: unknown }).items).toBeUndefined();
    }
    const ok = await feed();
    expect(ok.status).toBe(200);
  });

  it('refuses a malformed cursor or limit with 400 validation_failed', async () => {
    for (const query of ['after=12', 'after=a.b', 'after=1.2.3', 'after=-1.0', `after=1.${'9'.repeat(19)}`, `after=${'9'.repeat(20)}.1`, 'limit=10', 'other=1']) {
      const res = await h.call('GET', `/api/v1/internal/revocations?${query}`, { token: serviceToken });
      expect(res.status, query).toBe(400);
      expect(res.body.code, query).toBe('validation_failed');
    }
    // The largest cursor the pattern allows is a valid, empty page (never a 500).
    const largest = await feed(`${'9'.repeat(19)}.${'9'.repeat(18)}`);
    expect(largest.status).toBe(200);
    expect(largest.body.items).toEqual([]);
  });

  it('has an entry for a logout, an admin disabling an account, and a deleted account; a live session has none', async () => {
    const start = (await feed()).body.cursor;
    const leaving = await signedIn();
    const staying = await signedIn();
    const disabled = await signedIn();
    const deleted = await signedIn();
    const admin = await signedIn('admin');

    const before = Date.now();
    expect((await h.call('POST', '/api/v1/auth/logout', { token: leaving.accessToken, body: {} })).status).toBe(204);
    const patched = await h.call('PATCH', `/api/v1/admin/users/${disabled.id}`, { token: admin.accessToken, body: { disabled: true } });
    expect(patched.status).toBe(200);
    await h.database.db.query('DELETE FROM users WHERE id = $1', [deleted.id]);

    const page = await settledFeed(start);
    expect(page.status).toBe(200);
    const mine = page.body.items.filter((e) => [leaving.sid, disabled.sid, disabled.id, deleted.id, staying.sid, staying.id].includes(e.subject));
    expect(mine).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'session', subject: leaving.sid }),
        expect.objectContaining({ kind: 'user', subject: disabled.id }),
        // Disabling ends the account's sessions too.
        expect.objectContaining({ kind: 'session', subject: disabled.sid }),
        expect.objectContaining({ kind: 'user', subject: deleted.id }),
      ]),
    );
    expect(mine.some((e) => e.subject === staying.sid || e.subject === staying.id)).toBe(false);
    for (const e of mine) {
      // Kept for the access-token lifetime plus a minute of skew (900 + 60 s by default).
      const keptMs = Date.parse(e.expiresAt) - Date.parse(e.notBefore);
      expect(keptMs).toBeGreaterThanOrEqual(960_000 - 1000);
      expect(keptMs).toBeLessThanOrEqual(960_000 + 1000);
      expect(Date.parse(e.notBefore)).toBeGreaterThanOrEqual(before - 2000);
    }
    // The cursor moved past them: asking again after it gives none of them again.
    const next = await feed(page.body.cursor);
    expect(next.body.items.filter((e) => mine.some((m) => m.subject === e.subject))).toEqual([]);
  });

  it('sends a committed entry at once but keeps the cursor before a transaction that is still open', async () => {
    const start = (await feed()).body.cursor;
    const early = await signedIn();
    const late = await signedIn();
    // A second connection holds a transaction whose entry takes its xid first and commits last.
    const other = await openDatabase({ url: h.database.url, dataDir: '', poolSize: 1 });
    try {
      await other.withSession(async (session) => {
        await session.query('BEGIN');
        await session.query('SELECT pg_current_xact_id()');
        await session.query("UPDATE sessions SET revoked_at = now(), revoked_reason = 'test' WHERE id = $1", [early.sid]);
        // Committed meanwhile by another transaction (a larger xid).
        await h.database.db.query("UPDATE sessions SET revoked_at = now(), revoked_reason = 'test' WHERE id = $1", [late.sid]);

        const during = await feed(start);
        expect(during.body.items.map((e) => e.subject)).toContain(late.sid);
        expect(during.body.items.map((e) => e.subject)).not.toContain(early.sid);
        // The open transaction may still commit an earlier entry: the cursor does not pass it.
        expect(during.body.cursor).toBe(start);
        await session.query('COMMIT');
      });
    } finally {
      await other.close();
    }
    const after = await settledFeed(start);
    expect(after.body.items.map((e) => e.subject)).toEqual(expect.arrayContaining([early.sid, late.sid]));
    expect(after.body.cursor).not.toBe(start);
    const again = await feed(after.body.cursor);
    expect(again.body.items.map((e) => e.subject)).not.toContain(early.sid);
  });

  it('pages with `more`, and neither serves nor keeps an expired entry', async () => {
    const start = (await feed()).body.cursor;
    const users = await Promise.all([signedIn(), signedIn(), signedIn()]);
    for (const u of users) await h.database.db.query("UPDATE sessions SET revoked_at = now() WHERE id = $1", [u.sid]);
    // Pages of 2 (1,000 over HTTP), through the service the route calls.
    const service = new RevocationFeed(new RevocationRepository(h.database.db), h.store, createLogger('silent', 'test'), {
      keepSec: 960,
      pruneIntervalMs: 60_000,
      publishIntervalMs: 60_000,
      channel,
    });
    await settledFeed(start);
    const first = await service.page(start, 2);
    expect(first.items).toHaveLength(2);
    expect(first.more).toBe(true);
    const second = await service.page(first.cursor, 2);
    expect([...first.items, ...second.items].map((e) => e.subject)).toEqual(users.map((u) => u.sid));

    await h.database.db.query("UPDATE revocations SET expires_at = now() - interval '1 second' WHERE subject = $1", [users[0]!.sid]);
    const page = await feed(start);
    expect(page.body.items.map((e) => e.subject)).not.toContain(users[0]!.sid);
    const { rows } = await h.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM revocations WHERE expires_at <= now()');
    expect(rows[0]!.n).toBeGreaterThan(0);
    await h.database.db.query('DELETE FROM revocations WHERE expires_at <= now()');
  });

  it.skipIf(!hasRedis)('announces a new entry on the Redis channel', async () => {
    const sub = new Redis(REDIS_URL);
    try {
      const heard: string[] = [];
      await sub.subscribe(channel);
      sub.on('message', (_c: string, text: string) => heard.push(text));
      await new Promise((r) => setTimeout(r, 200));
      heard.length = 0;
      const u = await signedIn();
      expect((await h.call('POST', '/api/v1/auth/logout', { token: u.accessToken, body: {} })).status).toBe(204);
      const end = Date.now() + 2000;
      while (heard.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      expect(heard.length).toBeGreaterThan(0);
      // A poke: the newest sequence number, nothing a replica would trust.
      expect(heard.at(-1)).toMatch(/^[0-9]+$/);
    } finally {
      sub.disconnect();
    }
  });
});
