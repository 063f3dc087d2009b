import { PgCode, pgErrorCode, type Database, type Queryable } from '../../shared/utils/database.js';

/**
 * Runs `fn` in a transaction, again (up to `attempts` times) when PostgreSQL aborts it as a deadlock
 * victim. Review writes lock review then course, while deleting a course locks course then (by cascade)
 * reviews; the rare cycle is resolved by PostgreSQL aborting one side, which then simply retries.
 */
export async function inTransaction<T>(db: Database, fn: (tx: Queryable) => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (err) {
      const code = pgErrorCode(err);
      const retryable = code === PgCode.deadlock || code === PgCode.serializationFailure;
      if (!retryable || attempt >= attempts) throw err;
    }
  }
}
