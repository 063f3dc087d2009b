/**
 * The one helper for building a parameterised statement piece by piece (filters, keyset conditions,
 * SET lists): every value becomes a `$n` placeholder, so only fixed SQL text is ever spliced in.
 *
 *   const sql = new SqlParams(courseId);                  // $1 is the course id
 *   where.push(`r.rating = ${sql.add(rating, 'smallint')}`);  // "$2::smallint"
 *   await q.query(`SELECT ... WHERE ${where.join(' AND ')} LIMIT ${sql.add(limit)}`, sql.values);
 *
 * Decision (docs/ARCHITECTURE.md, "Data layer"): raw SQL with this helper, no query builder. Kysely was
 * weighed (immich uses it): typed results and composable queries, but our statements that matter are
 * hand-tuned (keyset pages, the one-statement review create, full-text search with functions in FROM)
 * and would stay raw `sql` templates inside it anyway, while the simple ones are a line each. Revisit
 * when a table needs many dynamic queries that this helper makes hard to read.
 */
export class SqlParams {
  readonly values: unknown[];

  /** `initial` become $1, $2, ... (for statements that start with fixed parameters). */
  constructor(...initial: unknown[]) {
    this.values = [...initial];
  }

  /** Adds a parameter and returns its placeholder, with `::cast` when given (`add(id, 'uuid')`). */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return `$${this.values.length}${cast ? `::${cast}` : ''}`;
  }

  /** The same as `add`, as a function to hand to a helper that builds part of the statement. */
  readonly adder = (value: unknown): string => this.add(value);
}
