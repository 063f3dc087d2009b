/**
 * The retention purge of security activity over real PostgreSQL: rows older than
 * `securityEvents.retentionDays` go in batches, newer ones stay, several purgers at once (replicas)
 * delete each row once and never fail, and the timer in the service does it by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { SecurityActivityRepository } from '../../internal/auth-service/repository/security_activity_repository.js';
import { EmailChangeRepository } from '../../internal/auth-service/repository/email_change_repository.js';
import { SecurityEventRetention } from '../../internal/auth-service/services/security_activity_service.js';
import { loadAuthConfig } from '../../internal/auth-service/config.js';

describe('security event retention settings', () => {
  it('reads SECURITY_EVENTS_RETENTION_DAYS, defaults to 365 and refuses less than the owner\'s 90 days', () => {
    expect(loadAuthConfig({ env: {} }).securityEvents.retentionDays).toBe(365);
    expect(loadAuthConfig({ env: { SECURITY_EVENTS_RETENTION_DAYS: '120' } }).securityEvents.retentionDays).toBe(120);
    expect(() => loadAuthConfig({ env: { SECURITY_EVENTS_RETENTION_DAYS: '30' } })).toThrow(/retentionDays/);
  });
});

describe.skipIf(!hasPostgres)('security event retention', () => {
  let h: AuthHarness;
  const logger = createLogger('silent', 'test');
  beforeAll(async () => {
    // The app's own purger stays off here; each test drives its own.
    h = await startAuth({ securityEvents: { purgeEnabled: false, retentionDays: 100 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function seed(userId: string, count: number, ageDays: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      await h.database.db.query(
        `INSERT INTO security_events (id, user_id, event, created_at) VALUES ($1, $2, 'login', now() - make_interval(secs => $3))`,
        [newId(), userId, ageDays * 86400 + i],
      );
    }
  }

  const count = async (userId: string, olderThanDays?: number) =>
    (
      await h.database.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM security_events WHERE user_id = $1 AND ($2::int IS NULL OR created_at < now() - make_interval(days => $2::int))`,
        [userId, olderThanDays ?? null],
      )
    ).rows[0]!.n;

  it('deletes rows older than the retention in batches and keeps the rest', async () => {
    const u = await h.newUser();
    await seed(u.id, 7, 101);
    await seed(u.id, 3, 99);
    const purger = new SecurityEventRetention(new SecurityActivityRepository(h.db), { retentionDays: 100, intervalSec: 3600, batchSize: 2 }, logger);
    expect(await purger.runOnce()).toBeGreaterThanOrEqual(7);
    expect(await count(u.id, 100)).toBe(0);
    expect(await count(u.id)).toBe(3);
    expect(await purger.runOnce()).toBe(0);
  });

  it('purges e-mail change requests that ended before the retention, with the events', async () => {
    const u = await h.newUser();
    const v = await h.newUser();
    const insert = (userId: string, status: string, endedDaysAgo: number | null, expiresInDays: number) =>
      h.database.db.query(
        `INSERT INTO email_change_requests (id, user_id, new_email, status, finished_at, expires_at, created_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $5::int IS NULL THEN NULL ELSE now() - make_interval(days => $5::int) END,
                 now() + make_interval(days => $6::int), now() - interval '300 days')`,
        [newId(), userId, `${newId()}@example.com`, status, endedDaysAgo, expiresInDays],
      );
    await insert(u.id, 'completed', 150, -150);
    await insert(u.id, 'cancelled', 10, -10);
    await insert(v.id, 'pending', null, -120);
    await insert(v.id, 'superseded', 101, -101);
    const purger = new SecurityEventRetention(new SecurityActivityRepository(h.db), { retentionDays: 100, intervalSec: 3600, batchSize: 1 }, logger, [
      new EmailChangeRepository(h.db),
    ]);
    await purger.runOnce();
    const { rows } = await h.database.db.query<{ status: string }>(
      'SELECT status FROM email_change_requests WHERE user_id = ANY($1::uuid[]) ORDER BY status',
      [[u.id, v.id]],
    );
    expect(rows.map((r) => r.status)).toEqual(['cancelled']);
  });

  it('is safe on several replicas at once: every old row deleted exactly once, no errors', async () => {
    const u = await h.newUser();
    await seed(u.id, 60, 150);
    await seed(u.id, 5, 10);
    const repo = new SecurityActivityRepository(h.db);
    const purgers = Array.from({ length: 3 }, () => new SecurityEventRetention(repo, { retentionDays: 100, intervalSec: 3600, batchSize: 7 }, logger));
    const results = await Promise.all(purgers.map((p) => p.runOnce()));
    // Other tests' rows may go too, but this user's 60 old ones are counted once in total.
    expect(results.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(60);
    expect(await count(u.id, 100)).toBe(0);
    expect(await count(u.id)).toBe(5);
  });

  it('runs on its timer in the service and stops cleanly', async () => {
    const u = await h.newUser();
    await seed(u.id, 4, 200);
    const purger = new SecurityEventRetention(new SecurityActivityRepository(h.db), { retentionDays: 100, intervalSec: 1, batchSize: 100 }, logger);
    purger.start();
    try {
      const end = Date.now() + 10_000;
      while ((await count(u.id)) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      expect(await count(u.id)).toBe(0);
      // The next run comes after the interval, by itself.
      await seed(u.id, 2, 200);
      const again = Date.now() + 10_000;
      while ((await count(u.id)) > 0 && Date.now() < again) await new Promise((r) => setTimeout(r, 50));
      expect(await count(u.id)).toBe(0);
    } finally {
      await purger.stop();
    }
    await seed(u.id, 1, 200);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count(u.id)).toBe(1);
  });
});
