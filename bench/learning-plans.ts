/**
 * Query plans of the learning services on the full bench catalogue (issue 17: "EXPLAIN shows no
 * sequential scan on the new queries", at full scale):
 *
 *   npm run -s build && node dist/bench/learning-plans.js \
 *     [--database-url postgres://postgres@127.0.0.1:5432/bench_catalog] [--allow-seq table,...] [--out bench/results]
 *
 * Drives the services themselves (enrolment, progress, curriculum, stats, announcements, reviews with
 * `requireEnrolment`, account deletion and export), with real ids picked by SQL (the learner with the
 * most active enrolments, the course with the most learners, a learner of it part-way through, ...)
 * and new random user ids for the writes, so the statements measured are the ones the services issue
 * today: when their SQL changes, running this again covers the new SQL.
 *
 * Nothing survives: the script holds ONE connection and ONE transaction (BEGIN at the start, ROLLBACK
 * at the very end). The `Database` it hands the services runs every statement on that connection; a
 * service transaction is a SAVEPOINT (RELEASE on success, ROLLBACK TO on error), and every driven
 * operation has a savepoint of its own, so an expected refusal (403, 409) does not abort the rest.
 * `lock_timeout` is 5 s: another benchmark holding a row we touch makes the script fail, not hang.
 * The transaction does hold the row locks of its writes (the popular course's row among them) until
 * it ends (about 12 s on the bench catalogue): run it when nothing else writes to bench_catalog.
 *
 * Decision: each distinct statement (per operation, by SQL text) gets `EXPLAIN (ANALYZE, BUFFERS,
 * FORMAT JSON)` just BEFORE its first run, with the same parameters, inside a savepoint rolled back
 * at once. Explaining afterwards does not work for writes: re-running an INSERT with the recorded ids
 * fails on the primary key (outbox events, lessons, announcements), and a delete re-run after the real
 * one finds nothing to delete, so its plan would be timed on an empty set. The statement then runs for
 * real (its own time is the "run ms" column; the EXPLAIN run warmed the cache for it). Statements the
 * recording database saw are matched to their plans, so every statement a service ran is in the table.
 *
 * Foreign-key checks, cascades and trigger functions run statements EXPLAIN does not show (only their
 * total time, under "Triggers"). While a statement is explained, `auto_explain` (log_nested_statements,
 * client_min_messages = log) sends the plans of those nested statements to this client; their nodes are
 * listed with `>` and their Seq Scans count like the statement's own.
 *
 * Statements recorded with a `name` (prepared once per connection, QueryOptions) may run with a generic
 * plan after five executions: they are also explained with `plan_cache_mode = force_generic_plan`
 * (PREPARE + EXPLAIN EXECUTE, not analysed), shown as an extra row "(generic plan)".
 *
 * Exit code 1 when a Seq Scan touches one of the big tables (BIG_TABLES). A Seq Scan on any other table
 * is flagged in the table ("seq?"); `--allow-seq` names small tables whose Seq Scan is expected
 * ("allowed"). Exit code 2 when an operation failed in a way it should not have, or a plan could not be
 * taken (the run is then incomplete). The full plans go to `--out`/learning-plans-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { AccountDataRepository } from '../internal/course-service/repository/account_data_repository.js';
import { AnnouncementRepository } from '../internal/course-service/repository/announcement_repository.js';
import { CourseRepository } from '../internal/course-service/repository/course_repository.js';
import { OutboxRepository } from '../internal/course-service/repository/outbox_repository.js';
import { AUTH_SERVICE_SUBJECT, AccountEventsService } from '../internal/course-service/services/account_events.js';
import { AnnouncementFanout, AnnouncementService } from '../internal/course-service/services/announcement_service.js';
import { CurriculumService } from '../internal/course-service/services/curriculum_service.js';
import { EnrolmentService } from '../internal/course-service/services/enrolment_service.js';
import { ProgressService } from '../internal/course-service/services/progress_service.js';
import { ReviewService } from '../internal/course-service/services/review_service.js';
import { StatsService } from '../internal/course-service/services/stats_service.js';
import type { Database, Queryable, QueryOptions, QueryResult, Session } from '../internal/shared/utils/database.js';
import { HttpError } from '../internal/shared/utils/errors.js';
import { newId } from '../internal/shared/utils/ids.js';
import type { Principal, Role } from '../internal/shared/utils/jwt.js';
import { createLogger } from '../internal/shared/utils/logging.js';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';
import { recordingDatabase, type RecordedStatement } from './recording_db.js';
import { type PlanNode } from './plan_nodes.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/bench_catalog' },
    /** Comma-separated small tables whose Seq Scan is expected (none by default). */
    'allow-seq': { type: 'string', default: '' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench', 'results') },
  },
  strict: true,
});

/** A Seq Scan on one of these fails the run (exit code 1). */
const BIG_TABLES = new Set([
  'courses', 'reviews', 'enrolments', 'lesson_completions', 'lessons', 'course_sections', 'certificates', 'course_daily_stats', 'course_outbox',
]);
const ALLOWED_SEQ = new Set(values['allow-seq'].split(',').map((s) => s.trim()).filter(Boolean));

// ---------------------------------------------------------------------------------------------------
// One connection, one outer transaction.

const client = new pg.Client({ connectionString: values['database-url'], application_name: 'bench-learning-plans' });
await client.connect();
/** auto_explain's LOG messages while a statement is being explained; undefined otherwise. */
let captured: string[] | undefined;
client.on('notice', (msg) => {
  if (captured && msg.message) captured.push(msg.message);
});
// Session settings; auto_explain stays silent (log_min_duration -1) except inside a probe's savepoint.
await client.query(`LOAD 'auto_explain'`);
await client.query(
  `SET auto_explain.log_min_duration = -1; SET auto_explain.log_nested_statements = on; SET auto_explain.log_analyze = on;
   SET auto_explain.log_format = json; SET auto_explain.log_triggers = on`,
);
await client.query('BEGIN');
await client.query(`SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '120s'`);

/** Statements on the one connection, one at a time (a service's Promise.all must not interleave a probe's savepoint). */
let tail: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = tail.then(fn, fn);
  tail = run.catch(() => undefined);
  return run;
}

interface ExplainOutput {
  Plan: PlanNode;
  'Planning Time'?: number;
  'Execution Time'?: number;
  Triggers?: { 'Trigger Name': string; Relation?: string; Time: number; Calls: number }[];
}
interface NestedPlan {
  query: string;
  plan: PlanNode;
}
interface Probe {
  op: string;
  sql: string;
  params: readonly unknown[];
  name?: string;
  explain?: ExplainOutput;
  generic?: ExplainOutput;
  nested: NestedPlan[];
  error?: string;
  /** The real statement's own time, first run (client side, ms). */
  runMs?: number;
}

/** The operation being driven; every statement is filed under it. */
let currentOp = 'setup';
const probes = new Map<string, Probe>();
const keyOf = (op: string, sql: string) => `${op}\u0000${sql}`;
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

function parseNested(messages: string[]): NestedPlan[] {
  const out = new Map<string, NestedPlan>();
  for (const m of messages) {
    const at = m.indexOf('{');
    if (at < 0) continue;
    try {
      const j = JSON.parse(m.slice(at)) as { 'Query Text'?: string; Plan?: PlanNode };
      const query = (j['Query Text'] ?? '').trim();
      // The explained statement itself is logged too (its text is the EXPLAIN); keep only the nested ones.
      if (!j.Plan || /^EXPLAIN\b/i.test(query) || /^PREPARE\b/i.test(query)) continue;
      if (!out.has(query)) out.set(query, { query, plan: j.Plan });
    } catch {
      // not a plan message
    }
  }
  return [...out.values()];
}

/**
 * A recorded parameter as a quoted literal of unknown type, which takes the prepared statement's
 * parameter type (the values a repository passes: text, numbers, booleans, dates, arrays of those).
 */
function literal(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  const text = (x: unknown): string => (x instanceof Date ? x.toISOString() : String(x));
  if (Array.isArray(v)) return client.escapeLiteral(`{${v.map((x) => (x === null ? 'NULL' : `"${text(x).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`);
  return client.escapeLiteral(text(v));
}

async function probe(p: Probe): Promise<void> {
  await client.query(`SAVEPOINT plan_probe; SET LOCAL auto_explain.log_min_duration = 0; SET LOCAL client_min_messages = log`);
  captured = [];
  try {
    const r = await client.query<{ 'QUERY PLAN': ExplainOutput[] }>({ text: `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${p.sql}`, values: p.params as unknown[] });
    p.explain = r.rows[0]!['QUERY PLAN'][0];
  } catch (err) {
    p.error = messageOf(err);
  } finally {
    p.nested = parseNested(captured);
    captured = undefined;
    await client.query('ROLLBACK TO SAVEPOINT plan_probe; RELEASE SAVEPOINT plan_probe');
  }
  if (!p.name) return;
  // A named statement may run on a generic plan once prepared: show that plan too.
  await client.query(`SAVEPOINT plan_probe; SET LOCAL plan_cache_mode = force_generic_plan`);
  try {
    await client.query(`PREPARE bench_generic AS ${p.sql}`);
    // EXECUTE's arguments cannot be bind parameters (a utility statement has none): quoted literals,
    // which take the prepared statement's parameter types.
    const args = p.params.map(literal).join(', ');
    const r = await client.query<{ 'QUERY PLAN': ExplainOutput[] }>(`EXPLAIN (FORMAT JSON) EXECUTE bench_generic(${args})`);
    p.generic = r.rows[0]!['QUERY PLAN'][0];
  } catch (err) {
    p.error = `generic plan: ${messageOf(err)}`;
  } finally {
    await client.query('ROLLBACK TO SAVEPOINT plan_probe; RELEASE SAVEPOINT plan_probe');
    await client.query('DEALLOCATE bench_generic').catch(() => undefined);
  }
}

async function run<T>(sql: string, params: readonly unknown[] = [], options: QueryOptions = {}): Promise<QueryResult<T>> {
  return exclusive(async () => {
    const key = keyOf(currentOp, sql);
    let first: Probe | undefined;
    if (!probes.has(key)) {
      first = { op: currentOp, sql, params, name: options.name, nested: [] };
      probes.set(key, first);
      await probe(first);
    }
    const t0 = performance.now();
    const res = await client.query({ text: sql, values: params as unknown[], name: options.name });
    if (first) first.runMs = performance.now() - t0;
    return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 };
  });
}

let savepoints = 0;
const session: Session = {
  query: run,
  exec: (sql: string) => exclusive(async () => void (await client.query(sql))),
  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const sp = `svc_tx_${++savepoints}`;
    await exclusive(() => client.query(`SAVEPOINT ${sp}`));
    try {
      const out = await fn({ query: run, exec: session.exec });
      await exclusive(() => client.query(`RELEASE SAVEPOINT ${sp}`));
      return out;
    } catch (err) {
      await exclusive(() => client.query(`ROLLBACK TO SAVEPOINT ${sp}; RELEASE SAVEPOINT ${sp}`));
      throw err;
    }
  },
};
const outer: Database = {
  kind: 'postgres',
  ...session,
  withSession: (fn) => fn(session),
  ping: async () => undefined,
  close: async () => undefined,
};

const recorded: (RecordedStatement & { op: string })[] = [];
const db = recordingDatabase(outer, (s) => recorded.push({ ...s, op: currentOp }));

// ---------------------------------------------------------------------------------------------------
// The services, as app.ts builds them (no cache: nothing to invalidate).

const courseRepository = new CourseRepository(db);
const outbox = new OutboxRepository(db);
const announcementRepository = new AnnouncementRepository(db);
const enrolments = new EnrolmentService({ db, courses: courseRepository });
const progress = new ProgressService({ db, courses: courseRepository, outbox });
const curriculum = new CurriculumService({ db, courses: courseRepository });
const stats = new StatsService({ db });
const reviews = new ReviewService({ db, courses: courseRepository, outbox, requireEnrolment: true });
const announcements = new AnnouncementService({ db, courses: courseRepository, announcements: announcementRepository, outbox });
const fanout = new AnnouncementFanout(db, announcementRepository, outbox, createLogger('silent', 'bench'), { batchSize: 500, pollIntervalMs: 60_000 });
const accountEvents = new AccountEventsService({ db, data: new AccountDataRepository(db), courses: courseRepository });

const person = (sub: string, name: string, role: Role = 'student'): Principal => ({
  sub,
  role,
  name,
  emailVerified: true,
  sid: newId(),
  jti: newId(),
  exp: Math.floor(Date.now() / 1000) + 3600,
});
const authService: Principal = { sub: AUTH_SERVICE_SUBJECT, role: 'service', name: 'auth-service', emailVerified: true, sid: undefined, jti: newId(), exp: Math.floor(Date.now() / 1000) + 3600 };

interface Outcome {
  op: string;
  result: string;
  unexpected: boolean;
}
const outcomes: Outcome[] = [];

/**
 * Drives one operation in a savepoint of its own. `expect`: the HttpError code it should end with
 * (a refusal the operation is there to exercise); anything else thrown is unexpected.
 */
async function op<T>(name: string, fn: () => Promise<T>, expect?: string): Promise<T | undefined> {
  currentOp = name;
  const sp = `op_${outcomes.length + 1}`;
  await exclusive(() => client.query(`SAVEPOINT ${sp}`));
  try {
    const out = await fn();
    await exclusive(() => client.query(`RELEASE SAVEPOINT ${sp}`));
    outcomes.push({ op: name, result: 'ok', unexpected: expect !== undefined });
    return out;
  } catch (err) {
    await exclusive(() => client.query(`ROLLBACK TO SAVEPOINT ${sp}; RELEASE SAVEPOINT ${sp}`));
    const code = err instanceof HttpError ? `${err.status} ${err.code}` : messageOf(err);
    outcomes.push({ op: name, result: code, unexpected: !(err instanceof HttpError && err.code === expect) });
    return undefined;
  } finally {
    currentOp = 'setup';
  }
}

// ---------------------------------------------------------------------------------------------------
// Real ids, picked with SQL (on the same connection, not recorded, not explained).

async function one<T>(sql: string, params: unknown[] = []): Promise<T> {
  const { rows } = await client.query(sql, params);
  if (!rows[0]) throw new Error(`no row for: ${sql}`);
  return rows[0] as T;
}

const t0 = Date.now();
const heavy = await one<{ user_id: string; name: string; n: number }>(
  `SELECT user_id, max(learner_name) AS name, count(*)::int AS n FROM enrolments WHERE status = 'active' GROUP BY user_id ORDER BY n DESC LIMIT 1`,
);
const heavyCourse = await one<{ course_id: string }>(
  `SELECT course_id FROM enrolments WHERE user_id = $1 AND completed_lessons > 0 ORDER BY last_activity_at DESC LIMIT 1`,
  [heavy.user_id],
).catch(() => one<{ course_id: string }>(`SELECT course_id FROM enrolments WHERE user_id = $1 LIMIT 1`, [heavy.user_id]));
const popular = await one<{ id: string; slug: string; instructor_id: string; instructor_name: string; enrolment_count: number; lesson_count: number }>(
  `SELECT id, slug, instructor_id, instructor_name, enrolment_count, lesson_count FROM courses
    WHERE status = 'published' ORDER BY enrolment_count DESC, rating_count DESC, id DESC LIMIT 1`,
);
const midway = await one<{ user_id: string; learner_name: string; completed_lessons: number }>(
  `SELECT user_id, learner_name, completed_lessons FROM enrolments
    WHERE course_id = $1 AND status = 'active' AND completed_at IS NULL AND completed_lessons > 0
    ORDER BY completed_lessons DESC, id LIMIT 1`,
  [popular.id],
);
const openLesson = await one<{ id: string }>(
  `SELECT l.id FROM lessons l WHERE l.course_id = $1
      AND NOT EXISTS (SELECT 1 FROM lesson_completions lc WHERE lc.user_id = $2 AND lc.lesson_id = l.id)
    ORDER BY l.section_id, l.position LIMIT 1`,
  [popular.id, midway.user_id],
);
const closedLesson = await one<{ id: string; completion_count: number }>(
  `SELECT id, completion_count FROM lessons WHERE course_id = $1 AND NOT preview ORDER BY completion_count DESC, id LIMIT 1`,
  [popular.id],
);
const small = await one<{ id: string }>(
  `SELECT id FROM courses WHERE status = 'published' AND lesson_count BETWEEN 2 AND 4 AND instructor_id <> $1 ORDER BY id LIMIT 1`,
  [popular.instructor_id],
);
const smallLessons = (
  await client.query<{ id: string }>(
    `SELECT l.id FROM lessons l JOIN course_sections s ON s.id = l.section_id WHERE l.course_id = $1 ORDER BY s.position, l.position`,
    [small.id],
  )
).rows.map((r) => r.id);
const anyCertificate = await one<{ verification_id: string }>(`SELECT verification_id FROM certificates ORDER BY issued_at DESC LIMIT 1`);
const reviewer = await one<{ author_id: string; n: number }>(
  `SELECT author_id, count(*)::int AS n FROM reviews WHERE author_id = (SELECT author_id FROM reviews WHERE author_id IS NOT NULL AND status = 'visible' LIMIT 1) GROUP BY author_id`,
);
const counts = await one<Record<string, number>>(
  `SELECT (SELECT count(*) FROM courses)::int AS courses, (SELECT count(*) FROM reviews)::int AS reviews,
          (SELECT count(*) FROM enrolments)::int AS enrolments, (SELECT count(*) FROM lesson_completions)::int AS lesson_completions,
          (SELECT count(*) FROM lessons)::int AS lessons, (SELECT count(*) FROM certificates)::int AS certificates`,
);
const pickMs = Date.now() - t0;

const owner = person(popular.instructor_id, popular.instructor_name, 'instructor');
const heavyLearner = person(heavy.user_id, heavy.name);
const midwayLearner = person(midway.user_id, midway.learner_name);
const newLearner = person(newId(), 'Plan Learner');
const stranger = person(newId(), 'Plan Stranger');

// ---------------------------------------------------------------------------------------------------
// The operations.

const t1 = Date.now();
await op('enrol: new learner, course with most learners', () => enrolments.enrol(newLearner, popular.id));
await op('enrol: again while active', () => enrolments.enrol(newLearner, popular.id));
await op('leave', () => enrolments.leave(newLearner, popular.id));
await op('leave: again (already left)', () => enrolments.leave(newLearner, popular.id));
await op('enrol: again after leaving', () => enrolments.enrol(newLearner, popular.id));
await op('enrol: new learner, small course', () => enrolments.enrol(newLearner, small.id));

await op('completion: done, learner part-way', () => progress.setCompletion(midwayLearner, openLesson.id, true));
await op('completion: not done', () => progress.setCompletion(midwayLearner, openLesson.id, false));
for (const [i, lessonId] of smallLessons.entries()) {
  const last = i === smallLessons.length - 1;
  await op(last ? 'completion: last lesson, certificate' : 'completion: done, new learner', () => progress.setCompletion(newLearner, lessonId, true));
}
const mine = await op('progress: get (heavy learner)', () => progress.get(heavyLearner, heavyCourse.course_id));
const finished = await op('progress: get (completed, certificate)', () => progress.get(newLearner, small.id));
await op('certificate: verify', () => progress.certificate(finished?.certificateId ?? anyCertificate.verification_id));
void mine;

for (const status of [undefined, 'active', 'completed', 'left'] as const) {
  await op(`my learning: ${status ?? 'all'} (${heavy.n} active enrolments)`, () => enrolments.listMine(heavyLearner, { status, limit: 20 }));
}
const page1 = await op('my learning: first page for the cursor', () => enrolments.listMine(heavyLearner, { limit: 20 }));
if (page1?.nextCursor) await op('my learning: page 2', () => enrolments.listMine(heavyLearner, { limit: 20, cursor: page1.nextCursor! }));
const roster1 = await op(`roster: first page (${popular.enrolment_count} learners)`, () => enrolments.roster(owner, popular.id, { limit: 20 }));
if (roster1?.nextCursor) await op('roster: page 2', () => enrolments.roster(owner, popular.id, { limit: 20, cursor: roster1.nextCursor! }));
await op('stats: course (owner)', () => stats.course(owner, popular.id, {}));

await op('outline: by id', () => curriculum.outline(undefined, popular.id));
await op('outline: by slug', () => curriculum.outline(undefined, popular.slug));
await op('lesson: read as active learner', () => curriculum.getLesson(midwayLearner, closedLesson.id));
await op('lesson: refused to a stranger', () => curriculum.getLesson(stranger, closedLesson.id), 'enrolment_required');
const outlineBefore = await curriculum.outline(undefined, popular.id);
const firstSection = outlineBefore.sections[0]!;
const added = await op('curriculum: add a lesson', () =>
  curriculum.createLesson(owner, firstSection.id, { title: 'Plans at scale', kind: 'article', durationSeconds: 300, body: 'bench' }),
);
if (added) {
  const current = await curriculum.outline(undefined, popular.id);
  // The new lesson first in the first section; everything else where it was.
  const sections = current.sections.map((s, i) => ({
    id: s.id,
    lessonIds: i === 0 ? [added.id, ...s.lessons.map((l) => l.id).filter((id) => id !== added.id)] : s.lessons.map((l) => l.id),
  }));
  await op('curriculum: reorder', () => curriculum.reorder(owner, popular.id, { sections }));
}
await op(`curriculum: delete a lesson (${closedLesson.completion_count} completions)`, () => curriculum.deleteLesson(owner, closedLesson.id));

await op('announcement: post', () => announcements.post(owner, popular.id, { subject: 'Plans at scale', body: 'Rolled back.' }));
await op('announcement: list', () => announcements.list(owner, popular.id));
await op('announcement: fan-out batch (500)', () => fanout.runOnce());

await op('review: create (enrolled)', () => reviews.create(newLearner, popular.id, { rating: 5, title: 'Plans', body: 'Rolled back.' }));
await op('review: refused (not enrolled)', () => reviews.create(stranger, popular.id, { rating: 4 }), 'enrolment_required');

await op('account: export (reviewer)', () => accountEvents.exportUser(authService, reviewer.author_id));
await op('account: export (instructor)', () => accountEvents.exportUser(authService, popular.instructor_id));
await op(`account: delete, erase reviews (${reviewer.n} reviews)`, () =>
  accountEvents.apply(authService, { eventId: newId(), type: 'account_deleted', userId: reviewer.author_id, eraseReviews: true }),
);
await op(`account: delete, keep reviews (${heavy.n} enrolments)`, () =>
  accountEvents.apply(authService, { eventId: newId(), type: 'account_deleted', userId: heavy.user_id, eraseReviews: false }),
);
await op('account: delete an instructor', () =>
  accountEvents.apply(authService, { eventId: newId(), type: 'account_deleted', userId: popular.instructor_id, eraseReviews: false }),
);
const driveMs = Date.now() - t1;

await client.query('ROLLBACK');
await client.end();

// ---------------------------------------------------------------------------------------------------
// The table.

interface Row {
  op: string;
  statement: string;
  nodes: string[];
  seq: string[];
  fatal: boolean;
  rows: number | string;
  explainMs: number | undefined;
  triggerMs: number | undefined;
  runMs: number | undefined;
  error?: string;
}

const walk = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(walk)];
/** `Index Scan enrolments (enrolments_course_user_key)`; a Bitmap Heap Scan names the indexes of its Bitmap Index Scans. */
function describe(n: PlanNode): string {
  const bitmap = n['Node Type'] === 'Bitmap Heap Scan' ? walk(n).filter((c) => c['Node Type'] === 'Bitmap Index Scan').map((c) => c['Index Name']!) : [];
  const indexes = n['Index Name'] ? [n['Index Name']] : bitmap;
  return `${n['Node Type']} ${n['Relation Name']}${indexes.length ? ` (${[...new Set(indexes)].join(', ')})` : ''}`;
}
const firstLine = (sql: string) => sql.trim().split('\n')[0]!.replace(/\s+/g, ' ').slice(0, 90);

function seqVerdict(table: string): { label: string; fatal: boolean } {
  if (BIG_TABLES.has(table)) return { label: `SEQ SCAN ${table} (big table)`, fatal: true };
  if (ALLOWED_SEQ.has(table)) return { label: `Seq Scan ${table} (allowed)`, fatal: false };
  return { label: `seq? ${table}`, fatal: false };
}

function rowOf(p: Probe, plan: ExplainOutput | undefined, generic: boolean): Row {
  const own = plan ? walk(plan.Plan).filter((n) => n['Relation Name']) : [];
  const nested = generic ? [] : p.nested.flatMap((x) => walk(x.plan).filter((n) => n['Relation Name']));
  const nodes = [...new Set([...own.map(describe), ...nested.map((n) => `> ${describe(n)}`)])];
  const seqNodes = [...own, ...nested].filter((n) => n['Node Type'] === 'Seq Scan');
  const verdicts = [...new Set(seqNodes.map((n) => n['Relation Name']!))].map(seqVerdict);
  return {
    op: p.op,
    statement: firstLine(p.sql) + (generic ? ' (generic plan)' : ''),
    nodes,
    seq: verdicts.map((v) => v.label),
    fatal: verdicts.some((v) => v.fatal),
    rows: plan && !generic ? (plan.Plan['Actual Rows'] ?? '') : '',
    explainMs: plan && !generic ? (plan['Planning Time'] ?? 0) + (plan['Execution Time'] ?? 0) : undefined,
    triggerMs: plan?.Triggers?.length ? plan.Triggers.reduce((a, t) => a + t.Time, 0) : undefined,
    runMs: generic ? undefined : p.runMs,
    error: generic ? undefined : p.error,
  };
}

// Every statement the recording database saw, in order, matched to its plan.
const tableRows: Row[] = [];
const missing: string[] = [];
const seen = new Set<string>();
for (const s of recorded) {
  const key = keyOf(s.op, s.sql);
  if (seen.has(key)) continue;
  seen.add(key);
  const p = probes.get(key);
  if (!p) {
    missing.push(`${s.op}: ${firstLine(s.sql)}`);
    continue;
  }
  tableRows.push(rowOf(p, p.explain, false));
  if (p.generic) tableRows.push(rowOf(p, p.generic, true));
}

const md = (s: string) => s.replace(/\|/g, '\\|');
const ms = (v: number | undefined) => (v === undefined ? '' : v.toFixed(2));
console.log(`\nbench_catalog: ${Object.entries(counts).map(([k, v]) => `${k} ${v.toLocaleString('en')}`).join(', ')}`);
console.log(
  `picked: heavy learner ${heavy.user_id} (${heavy.n} active enrolments), course ${popular.id} (${popular.enrolment_count} learners, ` +
    `${popular.lesson_count} lessons), learner part-way ${midway.user_id} (${midway.completed_lessons} done), small course ${small.id} ` +
    `(${smallLessons.length} lessons), reviewer ${reviewer.author_id} (${reviewer.n} reviews); ids ${pickMs} ms, operations ${driveMs} ms\n`,
);
console.log('| operation | statement (first line) | rows | explain ms | triggers ms | run ms | Seq Scan | plan nodes on tables (`>`: nested, from triggers and FK checks) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of tableRows) {
  const seq = r.error ? `ERROR: ${r.error}` : r.seq.length ? r.seq.join('; ') : 'none';
  console.log(`| ${md(r.op)} | \`${md(r.statement)}\` | ${r.rows} | ${ms(r.explainMs)} | ${ms(r.triggerMs)} | ${ms(r.runMs)} | ${md(seq)} | ${md(r.nodes.join(', '))} |`);
}

// One line per operation (a repeated operation, e.g. completing several lessons, once).
console.log('\n| operation | outcome | statements run (distinct) | Seq Scans | slowest EXPLAIN ANALYZE (ms, statement) |');
console.log('|---|---|---|---|---|');
for (const name of [...new Set(outcomes.map((o) => o.op))]) {
  const results = [...new Set(outcomes.filter((o) => o.op === name).map((o) => `${o.result}${o.unexpected ? ' **UNEXPECTED**' : ''}`))].join(', ');
  const mine = tableRows.filter((r) => r.op === name && !r.statement.endsWith('(generic plan)'));
  const slowest = mine.reduce<Row | undefined>((a, r) => ((r.explainMs ?? 0) > (a?.explainMs ?? -1) ? r : a), undefined);
  const seq = [...new Set(tableRows.filter((r) => r.op === name).flatMap((r) => r.seq))];
  console.log(
    `| ${md(name)} | ${md(results)} | ${recorded.filter((r) => r.op === name).length} (${mine.length}) | ${md(seq.join('; ') || 'none')} | ` +
      `${slowest ? `${ms(slowest.explainMs)} \`${md(slowest.statement.slice(0, 48))}\`` : ''} |`,
  );
}

const fatal = tableRows.filter((r) => r.fatal);
const errors = tableRows.filter((r) => r.error);
const unexpected = outcomes.filter((o) => o.unexpected);
const otherSeq = tableRows.filter((r) => !r.fatal && r.seq.length > 0);
console.log(
  `\n${recorded.length} statements recorded, ${tableRows.length} plans (${probes.size} distinct per operation), ` +
    `${fatal.length} with a Seq Scan on a big table, ${otherSeq.length} with another Seq Scan, ${errors.length} EXPLAIN errors, ` +
    `${unexpected.length} unexpected outcomes${missing.length ? `, ${missing.length} statements without a plan` : ''}.`,
);
for (const m of missing) console.log(`  no plan: ${m}`);

mkdirSync(values.out, { recursive: true });
const file = join(values.out, `learning-plans-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  JSON.stringify({ at: new Date().toISOString(), counts, outcomes, rows: tableRows, probes: [...probes.values()] }, null, 1),
);
console.log(`plans: ${file}`);

process.exitCode = fatal.length > 0 ? 1 : unexpected.length > 0 || errors.length > 0 || missing.length > 0 ? 2 : 0;
