import { isRetryableConflict, type Database, type Queryable } from '../../shared/utils/database.js';

/**
 * Runs `fn` again (up to `attempts` times) when PostgreSQL aborts it as a deadlock victim or a
 * serialization failure. `fn` must be a whole transaction, or a single statement (which is one).
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRetryableConflict(err) || attempt >= attempts) throw err;
    }
  }
}

/**
 * Runs `fn` in a transaction, retried as above. Review edits and deletes lock review then course, while
 * deleting a course locks course then (by cascade) reviews; the rare cycle is resolved by PostgreSQL
 * aborting one side, which then simply retries.
 */
export function inTransaction<T>(db: Database, fn: (tx: Queryable) => Promise<T>, attempts = 3): Promise<T> {
  return retryOnConflict(() => db.transaction(fn), attempts);
}
