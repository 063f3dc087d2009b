/**
 * A `Database` that hands every statement it runs (SQL, parameters, time) to a callback before
 * returning the real result: the benchmark uses it to attribute time to SQL and to EXPLAIN exactly
 * what the service ran, the EXPLAIN test to collect the service's statements.
 */
import type { Database, Queryable, QueryOptions, QueryResult, Session } from '../internal/shared/utils/database.js';

export interface RecordedStatement {
  sql: string;
  params: readonly unknown[];
  ms: number;
}

function wrap<Q extends Queryable>(target: Q, record: (s: RecordedStatement) => void): Queryable {
  return {
    async query<T = Record<string, unknown>>(sql: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<QueryResult<T>> {
      const t0 = performance.now();
      const result = await target.query<T>(sql, params, options);
      record({ sql, params, ms: performance.now() - t0 });
      return result;
    },
    exec: (sql: string) => target.exec(sql),
  };
}

function wrapSession(session: Session, record: (s: RecordedStatement) => void): Session {
  return {
    ...wrap(session, record),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => session.transaction((tx) => fn(wrap(tx, record))),
  };
}

export function recordingDatabase(db: Database, record: (s: RecordedStatement) => void): Database {
  return {
    kind: db.kind,
    ...wrapSession(db, record),
    withSession: <T>(fn: (session: Session) => Promise<T>) => db.withSession((s) => fn(wrapSession(s, record))),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}
