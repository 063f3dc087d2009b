/**
 * "No further mail will come": rather than sleeping long enough for a duplicate to show up, a test waits
 * until the outboxes are settled and then counts. Once course-service has no event left to deliver and
 * auth-service no notification still queued, nothing that happened before can make another mail (the
 * relay only takes undelivered events, the worker only queued notifications).
 */
import type { Queryable } from '../../internal/shared/utils/database.js';

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const count = async (db: Queryable, sql: string): Promise<number> => (await db.query<{ n: number }>(sql)).rows[0]!.n;

/** Waits until course-service's events are delivered (or failed), then until auth-service's mails are sent (or failed). */
export async function outboxesSettled(dbs: { course?: Queryable; auth: Queryable }, timeoutMs = 10_000): Promise<void> {
  const { course, auth } = dbs;
  if (course) {
    await until('course_outbox events still undelivered', async () => (await count(course, 'SELECT count(*)::int AS n FROM course_outbox WHERE delivered_at IS NULL AND failed_at IS NULL')) === 0, timeoutMs);
  }
  await until('notifications still queued', async () => (await count(auth, "SELECT count(*)::int AS n FROM notifications WHERE status = 'queued'")) === 0, timeoutMs);
}
