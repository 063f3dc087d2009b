/**
 * Latency figures of the catalogue read paths against a loaded database (see generate.ts):
 *
 *   node dist/bench/catalog-figures.js --database-url postgres://postgres@127.0.0.1:5432/bench_catalog \
 *     [--redis-url redis://127.0.0.1:6379] [--requests 300] [--cached-requests 1000] [--warmup 30]
 *     [--slow-ms 20] [--only baseline,healthz,list,list-more,search,search-cached,detail-cached] [--out dir]
 *
 * Builds course-service with `buildCourseApp` twice on one shared pool, both listening on loopback
 * ports: one with the response cache off (`cache.enabled: false`, every answer `X-Cache: BYPASS`) so
 * lists and searches measure the database, one with it on (Redis, a key prefix of its own) for the
 * cached detail read (and, for comparison, the same searches answered from the cache). A bare Fastify
 * route returning fixed JSON is the floor the machine allows; `/healthz` adds our server stack to it.
 *
 * The client is this same process, one request at a time (sequential `fetch` over a keep-alive
 * connection, body read to the end): a latency figure, not a throughput one. Each scenario has a warm-up
 * that is not counted. The database wrapper records the SQL of each request, so the table also shows
 * the time spent in PostgreSQL, and a scenario whose p95 is over `--slow-ms` gets `EXPLAIN (ANALYZE,
 * BUFFERS)` of its slowest request's statement. The JSON goes to bench/results/catalog-<timestamp>.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import type { JWTVerifyGetKey } from 'jose';
import { buildCourseApp, type CourseApp } from '../internal/course-service/app.js';
import { loadCourseConfig } from '../internal/course-service/config.js';
import { openDatabase } from '../internal/shared/utils/database.js';
import { TokenVerifier } from '../internal/shared/utils/jwt.js';
import { createLogger } from '../internal/shared/utils/logging.js';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';
import { recordingDatabase, type RecordedStatement } from './recording_db.js';
import { sampleCatalogue } from './catalog_sample.js';

const { values } = parseArgs({
  options: {
    'database-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/bench_catalog' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    requests: { type: 'string', default: '300' },
    'cached-requests': { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '30' },
    'slow-ms': { type: 'string', default: '20' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench', 'results') },
    /** Comma-separated scenario names to run (default: all). */
    only: { type: 'string', default: '' },
  },
  strict: true,
});
const REQUESTS = Number(values.requests);
const CACHED_REQUESTS = Number(values['cached-requests']);
const WARMUP = Number(values.warmup);
const SLOW_MS = Number(values['slow-ms']);
const ONLY = new Set(values.only.split(',').map((s) => s.trim()).filter(Boolean));
const wanted = (name: string) => ONLY.size === 0 || ONLY.has(name);

// ---------------------------------------------------------------------------------------------------
// Setup: one pool, two apps (cache off / on), one bare Fastify app.

/** Every statement goes to `current`, the statements of the request in flight (requests are sequential). */
let current: RecordedStatement[] = [];
const base = await openDatabase({ url: values['database-url'], dataDir: '', poolSize: 10, applicationName: 'bench-figures' });
const db = recordingDatabase(base, (s) => current.push(s));

// Anonymous GETs only: a verifier that knows no keys refuses any token, which no request sends.
const noKeys: JWTVerifyGetKey = async () => {
  throw new Error('the benchmark verifies no tokens');
};
const verifier = new TokenVerifier(noKeys, { issuer: 'bench', audience: 'bench' });
const redisPrefix = `bench:catalog:${randomBytes(4).toString('hex')}:`;

async function startCourseApp(cacheEnabled: boolean): Promise<{ course: CourseApp; url: string }> {
  const config = loadCourseConfig({
    env: {},
    overrides: {
      // generate.ts migrated the database; a benchmark does not change the schema it measures.
      database: { url: values['database-url'], migrateOnStart: false },
      redis: { url: values['redis-url'], keyPrefix: redisPrefix },
      log: { level: 'silent' },
      cache: { enabled: cacheEnabled },
      relay: { enabled: false },
      http: { host: '127.0.0.1', port: 0 },
    },
  });
  const course = await buildCourseApp(config, { db, verifier, logger: createLogger('silent', 'course-service') });
  const url = await course.app.listen({ host: '127.0.0.1', port: 0 });
  return { course, url };
}

const uncached = await startCourseApp(false);
const cached = await startCourseApp(true);
const bare = Fastify({ logger: false });
bare.get('/ping', async () => ({ ok: true, service: 'bench' }));
const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });

// ---------------------------------------------------------------------------------------------------
// The requests: realistic filter combinations and search words, from what the database holds.

const LEVELS = ['beginner', 'intermediate', 'advanced'];
// Popular courses are the ones people open; a mix of a few very popular and some ordinary ones.
const { categories, tags, instructorIds, detailIds } = await sampleCatalogue((sql) => base.query(sql).then((r) => r.rows), 5);

const qs = (params: Record<string, string | number>) => new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();

const listCombos = categories.flatMap((category) => LEVELS.map((level) => `/api/v1/courses?${qs({ category, level, sort: 'rating' })}`));

const cat = (i: number) => categories[i % categories.length]!;
const tag = (i: number) => tags[i % Math.max(1, tags.length)] ?? 'python';
const otherLists: string[] = [
  `/api/v1/courses`,
  `/api/v1/courses?${qs({ sort: 'rating' })}`,
  `/api/v1/courses?${qs({ sort: 'popular' })}`,
  `/api/v1/courses?${qs({ sort: 'title' })}`,
  `/api/v1/courses?${qs({ category: cat(0), sort: 'popular' })}`,
  `/api/v1/courses?${qs({ category: cat(1), sort: 'newest' })}`,
  `/api/v1/courses?${qs({ category: cat(2), sort: 'title' })}`,
  `/api/v1/courses?${qs({ language: 'de', sort: 'newest' })}`,
  `/api/v1/courses?${qs({ language: 'es', level: 'advanced', sort: 'rating' })}`,
  `/api/v1/courses?${qs({ tag: tag(0), sort: 'popular' })}`,
  `/api/v1/courses?${qs({ tag: tag(1), level: 'beginner', sort: 'rating' })}`,
  `/api/v1/courses?${qs({ tag: tag(2), sort: 'newest' })}`,
  `/api/v1/courses?${qs({ minRating: 4.5, sort: 'newest' })}`,
  `/api/v1/courses?${qs({ minRating: 4, category: cat(3), sort: 'popular' })}`,
  `/api/v1/courses?${qs({ instructorId: instructorIds[0] ?? '00000000-0000-7000-8000-000000000000' })}`,
  `/api/v1/courses?${qs({ category: cat(4), level: 'advanced', language: 'ru', sort: 'newest' })}`,
  `/api/v1/courses?${qs({ category: cat(5), tag: tag(3), sort: 'rating' })}`,
];

const SEARCHES = [
  'python', 'react', 'kubernetes', 'postgresql', 'machine learning', 'data analysis', 'docker kubernetes',
  'ethical hacking', 'unity game', 'figma design system', 'aws lambda', 'rust', 'sql for beginners',
  'deep learning pytorch', 'swiftui', 'typescript node', 'penetration testing', 'product management',
  'time series', 'web application security', 'flutter', 'terraform aws', 'natural language processing',
  'game design', 'excel', 'java', 'graphql api', 'computer vision', 'agile scrum', 'linux',
];
const searches = SEARCHES.map((q) => `/api/v1/courses?${qs({ q })}`);

// ---------------------------------------------------------------------------------------------------
// Measuring.

interface Sample {
  url: string;
  ms: number;
  dbMs: number;
  status: number;
  xCache: string | null;
  statements: RecordedStatement[];
}

interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s[s.length - 1] ?? NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

async function request(url: string): Promise<Sample> {
  current = [];
  const t0 = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  const statements = current;
  return { url, ms, dbMs: statements.reduce((a, s) => a + s.ms, 0), status: res.status, xCache: res.headers.get('x-cache'), statements };
}

interface Scenario {
  name: string;
  what: string;
  samples: Sample[];
}

async function run(name: string, what: string, origin: string, paths: string[], n: number): Promise<Scenario | undefined> {
  if (!wanted(name)) return undefined;
  for (let i = 0; i < WARMUP; i++) await request(origin + paths[i % paths.length]!);
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) samples.push(await request(origin + paths[i % paths.length]!));
  const bad = samples.filter((s) => s.status !== 200);
  if (bad.length) throw new Error(`${name}: ${bad.length} answers were not 200 (first: ${bad[0]!.status} for ${bad[0]!.url})`);
  return { name, what, samples };
}

const started = new Date();
const loadBefore = loadavg();
const list: (Scenario | undefined)[] = [];
list.push(await run('baseline', 'bare Fastify GET /ping, fixed JSON', bareUrl, ['/ping'], CACHED_REQUESTS));
list.push(await run('healthz', 'course app GET /healthz (our server stack, no database)', cached.url, ['/healthz'], CACHED_REQUESTS));
list.push(await run('list', `category x level, sort=rating, cache off (${listCombos.length} combinations)`, uncached.url, listCombos, REQUESTS));
list.push(await run('list-more', `other filters and sorts, cache off (${otherLists.length} combinations)`, uncached.url, otherLists, REQUESTS));
list.push(await run('search', `q=<words>, relevance, cache off (${searches.length} queries)`, uncached.url, searches, REQUESTS));
// The same searches through the cache (what a repeated popular search costs): each loaded once (MISS)
// first, so the counted reads hit.
if (wanted('search-cached')) for (const path of searches) await request(cached.url + path);
list.push(await run('search-cached', `the same searches, Redis cache (${searches.length} queries)`, cached.url, searches, CACHED_REQUESTS));
// The cached detail, likewise.
if (wanted('detail-cached')) for (const id of detailIds) await request(`${cached.url}/api/v1/courses/${id}`);
list.push(
  await run('detail-cached', `GET /courses/<id>, Redis cache (${detailIds.length} ids)`, cached.url, detailIds.map((id) => `/api/v1/courses/${id}`), CACHED_REQUESTS),
);

const scenarios = list.filter((s): s is Scenario => s !== undefined);
const loadAfter = loadavg();

// ---------------------------------------------------------------------------------------------------
// Report.

const fmt = (x: number) => (Number.isNaN(x) ? '-' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const rows = scenarios.map((s) => {
  const total = stats(s.samples.map((x) => x.ms));
  const dbTime = stats(s.samples.map((x) => x.dbMs));
  const caches = [...new Set(s.samples.map((x) => x.xCache ?? '-'))].join('/');
  return { s, total, dbTime, caches };
});

const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
console.log(`\ncatalogue figures, ${started.toISOString()}, sequential fetch, ms; load average before ${load(loadBefore)}, after ${load(loadAfter)}`);
console.log(`${'scenario'.padEnd(15)}${'n'.padStart(6)}${'p50'.padStart(9)}${'p95'.padStart(9)}${'p99'.padStart(9)}${'max'.padStart(9)}${'db p50'.padStart(9)}${'db p95'.padStart(9)}  x-cache   what`);
for (const { s, total, dbTime, caches } of rows) {
  console.log(
    `${s.name.padEnd(15)}${String(total.n).padStart(6)}${fmt(total.p50).padStart(9)}${fmt(total.p95).padStart(9)}${fmt(total.p99).padStart(9)}` +
      `${fmt(total.max).padStart(9)}${fmt(dbTime.p50).padStart(9)}${fmt(dbTime.p95).padStart(9)}  ${caches.padEnd(8)}  ${s.what}`,
  );
}

/** Per-URL figures of a scenario, slowest p95 first. */
function breakdown(s: Scenario): { url: string; p50: number; p95: number; n: number }[] {
  const by = new Map<string, number[]>();
  for (const x of s.samples) by.set(x.url, [...(by.get(x.url) ?? []), x.ms]);
  return [...by]
    .map(([url, xs]) => ({ url: url.replace(/^http:\/\/[^/]+/, ''), ...stats(xs) }))
    .map(({ url, p50, p95, n }) => ({ url, p50, p95, n }))
    .sort((a, b) => b.p95 - a.p95);
}

const explains: { scenario: string; url: string; ms: number; sql: string; params: readonly unknown[]; plan: string }[] = [];
for (const { s, total } of rows) {
  const perUrl = breakdown(s);
  if (perUrl.length > 1 && total.p95 > SLOW_MS) {
    console.log(`\n${s.name}: slowest requests (p95 over ${SLOW_MS} ms)`);
    for (const u of perUrl.slice(0, 8)) console.log(`  p50 ${fmt(u.p50).padStart(7)}  p95 ${fmt(u.p95).padStart(7)}  ${decodeURIComponent(u.url)}`);
  }
  if (total.p95 <= SLOW_MS) continue;
  const slowest = [...s.samples].sort((a, b) => b.dbMs - a.dbMs)[0]!;
  const statement = [...slowest.statements].sort((a, b) => b.ms - a.ms)[0];
  if (!statement) continue;
  const { rows: plan } = await base.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${statement.sql}`, statement.params);
  const text = plan.map((r) => r['QUERY PLAN']).join('\n');
  explains.push({ scenario: s.name, url: slowest.url.replace(/^http:\/\/[^/]+/, ''), ms: statement.ms, sql: statement.sql, params: statement.params, plan: text });
  console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the slowest ${s.name} statement (${fmt(statement.ms)} ms in the run), ${decodeURIComponent(slowest.url.replace(/^http:\/\/[^/]+/, ''))}`);
  console.log(`params: ${JSON.stringify(statement.params)}`);
  console.log(text);
}

const { rows: sizes } = await base.query<{ courses: number; published: number; reviews: number; version: string }>(
  `SELECT (SELECT count(*)::int FROM courses) AS courses, (SELECT count(*)::int FROM courses WHERE status = 'published') AS published,
          (SELECT count(*)::int FROM reviews) AS reviews, current_setting('server_version') AS version`,
);
mkdirSync(values.out, { recursive: true });
const file = join(values.out, `catalog-${started.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  JSON.stringify(
    {
      startedAt: started.toISOString(),
      method: 'sequential fetch from the same process, keep-alive, body read; times in ms',
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, postgres: sizes[0]?.version },
      // Other work on the machine skews the tails: the 1/5/15-minute load averages around the run.
      loadAverage: { before: loadBefore, after: loadAfter },
      data: sizes[0],
      settings: { requests: REQUESTS, cachedRequests: CACHED_REQUESTS, warmup: WARMUP, slowMs: SLOW_MS },
      scenarios: rows.map(({ s, total, dbTime, caches }) => ({
        name: s.name,
        what: s.what,
        xCache: caches,
        latency: total,
        database: dbTime,
        perUrl: breakdown(s),
      })),
      explains,
    },
    null,
    2,
  ),
);
console.log(`\nwrote ${file}`);

// ---------------------------------------------------------------------------------------------------
// Tear down, and remove this run's cache keys (version counters never expire by design).

await bare.close();
await uncached.course.app.close();
await cached.course.app.close();
await base.close();
const redis = new Redis(values['redis-url'], { lazyConnect: true, maxRetriesPerRequest: 1 });
try {
  await redis.connect();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 1000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
} finally {
  redis.disconnect();
}
