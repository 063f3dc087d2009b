/**
 * What a bench asks for, taken from the catalogue it runs on: the categories (most courses first), the
 * commonest tags, the busiest instructors, and the courses whose details people open (the ten most
 * reviewed and a sample of ordinary ones). Shared by run.ts and catalog-figures.ts.
 */
export interface CatalogueSample {
  categories: string[];
  tags: string[];
  instructorIds: string[];
  detailIds: string[];
}

/** `rows(sql)` runs a query and returns its rows (a pg client or the service's Database). */
export async function sampleCatalogue(rows: (sql: string) => Promise<Record<string, unknown>[]>, instructors: number): Promise<CatalogueSample> {
  const column = async (sql: string, name: string) => (await rows(sql)).map((r) => String(r[name]));
  const categories = await column(`SELECT category FROM courses WHERE status = 'published' GROUP BY category ORDER BY count(*) DESC`, 'category');
  if (categories.length === 0) throw new Error('No published courses: load a catalogue with generate.ts first');
  return {
    categories,
    tags: await column(
      `SELECT tag FROM (SELECT unnest(tags) AS tag FROM courses TABLESAMPLE SYSTEM (5) WHERE status = 'published') t
        GROUP BY tag ORDER BY count(*) DESC LIMIT 12`,
      'tag',
    ),
    instructorIds: await column(
      `SELECT instructor_id::text AS id FROM courses WHERE status = 'published' GROUP BY instructor_id ORDER BY count(*) DESC LIMIT ${Math.trunc(instructors)}`,
      'id',
    ),
    detailIds: await column(
      `(SELECT id::text FROM courses WHERE status = 'published' ORDER BY rating_count DESC LIMIT 10)
       UNION ALL (SELECT id::text FROM courses TABLESAMPLE SYSTEM (1) WHERE status = 'published' LIMIT 40)`,
      'id',
    ),
  };
}
