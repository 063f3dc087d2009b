/**
 * One database interface over PostgreSQL (`pg`) and embedded PGlite, so the same SQL runs in both modes.
 * Repositories take a `Queryable` (the pool or a transaction), never a driver type.
 *
 * Portability rules the SQL in this repository follows: cast counts and bigints to `int` (the drivers
 * disagree on int8), pass JSON as text and cast it (`$1::jsonb`), and use only parameters ($1..$n).
 */
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import type { PGlite as PGliteType } from '@electric-sql/pglite';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

/**
 * `name`: prepare the statement once per connection under this name and reuse it (no parse or plan
 * per call; planning the review create statement costs ~3 ms, running it ~0.7 ms). Only for hot
 * statements whose best plan does not depend on the parameters (after five runs PostgreSQL may switch a
 * prepared statement to a generic plan); one name, one SQL text. Needs session-level connections: a
 * pooler in transaction mode in front of PostgreSQL (PgBouncer before 1.21) would lose them.
 */
export interface QueryOptions {
  name?: string;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[], options?: QueryOptions): Promise<QueryResult<T>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** One connection held for a while (the migration runner keeps its advisory lock on one). */
export interface Session extends Queryable {
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

export interface Database extends Session {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` on one dedicated connection. */
  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** SQLSTATE codes that repositories translate into domain results. */
export const PgCode = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  serializationFailure: '40001',
  deadlock: '40P01',
} as const;

export function pgErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function pgConstraint(err: unknown): string | undefined {
  const c = (err as { constraint?: unknown } | null)?.constraint;
  return typeof c === 'string' ? c : undefined;
}

/** A deadlock victim or a serialization failure: the transaction may simply run again. */
export function isRetryableConflict(err: unknown): boolean {
  const code = pgErrorCode(err);
  return code === PgCode.deadlock || code === PgCode.serializationFailure;
}

/** True when the error means "the database is not reachable right now" rather than "bad query". */
export function isConnectionError(err: unknown): boolean {
  const code = pgErrorCode(err);
  if (code && /^(08|57P0[1-3]|53300)/.test(code)) return true;
  const message = (err as Error | null)?.message ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code ?? '') ||
    /Connection terminated|connection timeout|Client has encountered a connection error|not queryable|timeout exceeded when trying to connect|Query read timeout/i.test(message)
  );
}

class PgDatabase implements Database {
  readonly kind = 'postgres' as const;
  constructor(private readonly pool: pg.Pool) {}

  async query<T>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<QueryResult<T>> {
    const res = await this.pool.query({ text: sql, values: params as unknown[], name: options.name });
    return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.withSession((s) => s.transaction(fn));
  }

  async withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      return await fn(pgSession(client));
    } catch (err) {
      if (isConnectionError(err)) broken = err as Error;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function pgSession(client: pg.PoolClient): Session {
  const query = async <T>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<QueryResult<T>> => {
    const res = await client.query({ text: sql, values: params as unknown[], name: options.name });
    return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 };
  };
  const exec = async (sql: string): Promise<void> => {
    await client.query(sql);
  };
  return {
    query,
    exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      await client.query('BEGIN');
      try {
        const out = await fn({ query, exec });
        await client.query('COMMIT');
        return out;
      } catch (err) {
        // A broken connection cannot take a ROLLBACK (it would only wait behind the stuck query); the
        // caller releases the client as broken, and the server rolls back when the connection closes.
        if (!isConnectionError(err)) await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    },
  };
}

/**
 * PGlite is one connection in this process. A plain query issued while another caller's transaction is
 * open would run inside that transaction, so every use takes one lock: a query, a transaction or a session.
 * Statement names (`QueryOptions`) are ignored: there is no network round trip to save.
 */
class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly db: PGliteType) {}

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async rawQuery<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
    const res = await this.db.query<T>(sql, params as unknown[]);
    return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
  }

  private session(): Session {
    const query = <T>(sql: string, params?: readonly unknown[]) => this.rawQuery<T>(sql, params);
    const exec = async (sql: string): Promise<void> => {
      await this.db.exec(sql);
    };
    return {
      query,
      exec,
      transaction: async <T>(fn: (tx: Queryable) => Promise<T>): Promise<T> => {
        await this.db.exec('BEGIN');
        try {
          const out = await fn({ query, exec });
          await this.db.exec('COMMIT');
          return out;
        } catch (err) {
          await this.db.exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      },
    };
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
    return this.exclusive(() => this.rawQuery<T>(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.exclusive(() => this.session().exec(sql));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.exclusive(() => this.session().transaction(fn));
  }

  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    return this.exclusive(() => fn(this.session()));
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  async close(): Promise<void> {
    await this.exclusive(() => this.db.close());
  }
}

export interface DatabaseOptions {
  /** PostgreSQL URL; empty means embedded PGlite in `dataDir`. */
  url: string;
  /** Where PGlite keeps its files; `memory://` keeps nothing. */
  dataDir: string;
  poolSize?: number;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  applicationName?: string;
}

/** How long after the statement timeout the client stops waiting for a server that does not answer. */
const QUERY_TIMEOUT_MARGIN_MS = 2000;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30000,
      statement_timeout: options.statementTimeoutMs || undefined,
      // The server ends a slow statement itself; a server that does not answer at all (a network
      // partition, a frozen host) would leave the query, and the request, waiting forever. The client
      // gives up a little after the statement timeout: "Query read timeout" is a connection error
      // (503, and the client is dropped from the pool).
      query_timeout: options.statementTimeoutMs ? options.statementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS : undefined,
      application_name: options.applicationName,
    });
    // An idle client that loses its server emits here; without a listener the process would crash.
    pool.on('error', () => undefined);
    return new PgDatabase(pool);
  }
  const { PGlite } = await import('@electric-sql/pglite');
  if (!options.dataDir.startsWith('memory://')) mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create(options.dataDir);
  return new PgliteDatabase(db);
}
