/**
 * Two builds of course-service side by side with the floor, in the same alternating rounds: what a
 * change moved, on a machine too busy for figures of separate runs to compare (issue 16).
 *
 *   git archive <commit> | tar -x -C /tmp/old && ln -s "$PWD/node_modules" /tmp/old/node_modules && (cd /tmp/old && npm run -s build)
 *   npm run -s build && node dist/bench/compare.js --other /tmp/old/dist [--redis-url redis://127.0.0.1:6379] [--rounds 5] [--window 3] [--log-level warn]
 *     [--groups detail,list,outline]
 *
 * Both services read the bench catalogue (`--course-db`, generate.ts) through the response cache (TTLs of
 * 30 minutes, as in run.ts); the floor (baseline-server.ts) answers with this build's cached bytes. Each
 * round measures the floor, the other build and this build for `--window` seconds each, 50 connections,
 * on 50 course details and then 12 lists (`--groups`; `outline`: the curricula of the same 50
 * courses); printed: the body sizes of each group, medians of req/s, p99 and CPU µs per request (the
 * process's utime+stime over the window divided by its answers), and the medians of the per-round
 * ratios to the floor. No auth-service: anonymous cached reads do not need it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';
import { CpuWindow, cycle, deleteRedisKeys, freePort, runLoad, startChild, type Child } from './load.js';

const { values } = parseArgs({
  options: {
    other: { type: 'string' },
    'course-db': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/bench_catalog' },
    'redis-url': { type: 'string', default: '' },
    rounds: { type: 'string', default: '5' },
    window: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    'log-level': { type: 'string', default: 'warn' },
    groups: { type: 'string', default: 'detail,list' },
  },
  strict: true,
});
if (!values.other) throw new Error('--other <the other build\'s dist folder> is required');
const ROUNDS = Number(values.rounds);
const WINDOW = Number(values.window);
const CONNECTIONS = Number(values.connections);

const db = new pg.Client(values['course-db']);
await db.connect();
const ids = (await db.query<{ id: string }>("SELECT id FROM courses WHERE status = 'published' ORDER BY id LIMIT 50")).rows.map((r) => r.id);
const categories = (await db.query<{ category: string }>("SELECT DISTINCT category FROM courses WHERE status = 'published' ORDER BY category LIMIT 6")).rows.map((r) => r.category);
await db.end();
const allGroups: [string, string[]][] = [
  ['detail', ids.map((id) => `/api/v1/courses/${id}`)],
  ['list', categories.flatMap((c) => [`/api/v1/courses?category=${encodeURIComponent(c)}`, `/api/v1/courses?category=${encodeURIComponent(c)}&sort=newest`])],
  // Issue 17: the public outline of the same 50 courses.
  ['outline', ids.map((id) => `/api/v1/courses/${id}/curriculum`)],
];
const wantedGroups = values.groups.split(',').map((g) => g.trim());
const groups = allGroups.filter(([name]) => wantedGroups.includes(name));
if (groups.length !== wantedGroups.length) throw new Error(`--groups: choose from ${allGroups.map(([name]) => name).join(', ')}`);

const varDir = mkdtempSync(join(tmpdir(), 'bench-compare-'));
const redisPrefix = `bench:compare:${Date.now()}:`;
const env = (port: number): NodeJS.ProcessEnv => ({
  ...process.env,
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  LOG_LEVEL: values['log-level'],
  VAR_DIR: varDir,
  REDIS_URL: values['redis-url'],
  REDIS_KEY_PREFIX: redisPrefix,
  COURSE_PORT: String(port),
  DATABASE_URL: values['course-db'],
  AUTH_URL: 'http://127.0.0.1:9',
  CACHE_COURSE_TTL_MS: String(30 * 60_000),
  CACHE_LIST_TTL_MS: String(30 * 60_000),
});
const [otherPort, thisPort, floorPort] = await Promise.all([freePort(), freePort(), freePort()]);
const otherScript = relative(join(PROJECT_ROOT, 'dist'), resolve(values.other, 'cmd/course-service/main.js'));
const other = await startChild({ name: 'other', script: otherScript, env: env(otherPort), port: otherPort, readyPath: '/readyz', logFile: join(varDir, 'other.log') });
const current = await startChild({ name: 'this', script: 'cmd/course-service/main.js', env: env(thisPort), port: thisPort, readyPath: '/readyz', logFile: join(varDir, 'this.log') });

// Both caches filled; the floor gets this build's answers.
const bodies: Record<string, string> = {};
for (const path of groups.flatMap(([, paths]) => paths)) {
  for (const child of [other, current]) for (let i = 0; i < 2; i++) await (await fetch(child.origin + path)).text();
  bodies[path] = await (await fetch(current.origin + path)).text();
}
writeFileSync(join(varDir, 'bodies.json'), JSON.stringify({ contentType: 'application/json; charset=utf-8', bodies }));
for (const [group, paths] of groups) {
  const sizes = paths.map((p) => Buffer.byteLength(bodies[p]!)).sort((a, b) => a - b);
  console.log(`${group} bodies: ${sizes[0]}-${sizes[sizes.length - 1]} B, median ${sizes[sizes.length >> 1]}`);
}
const floor = await startChild({
  name: 'floor',
  script: 'bench/baseline-server.js',
  env: { ...process.env },
  port: floorPort,
  readyPath: '/',
  args: ['--port', String(floorPort), '--bodies', join(varDir, 'bodies.json')],
});

const cpu = new CpuWindow(() => ({ floor: floor.pid, other: other.pid, this: current.pid }));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const servers: [string, Child][] = [['floor', floor], ['other', other], ['this', current]];
try {
  for (const [group, paths] of groups) {
    const rows: Record<string, { rps: number; p99: number; us: number; bad: number }[]> = { floor: [], other: [], this: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, child] of servers) {
        const next = cycle(paths.map((path) => ({ path })));
        await runLoad({ origin: child.origin, connections: CONNECTIONS, durationS: round === 0 ? 2 : 0.5, next });
        cpu.start();
        const res = await runLoad({ origin: child.origin, connections: CONNECTIONS, durationS: WINDOW, next });
        cpu.stop();
        rows[name]!.push({ rps: res.rps, p99: res.latencyMs.p99, us: (1e6 * cpu.lastSeconds[name]!) / res.responses, bad: res.errors + res.timeouts + res.non2xx });
      }
    }
    console.log(`\n${group}: ${values['redis-url'] ? 'Redis' : 'no Redis'}, ${values['log-level']}, ${ROUNDS} rounds of ${WINDOW} s, ${CONNECTIONS} connections`);
    for (const [name] of servers) {
      const r = rows[name]!;
      const line = `  ${name.padEnd(5)}  ${median(r.map((x) => x.rps)).toFixed(0).padStart(6)} req/s  p99 ${median(r.map((x) => x.p99)).toFixed(2).padStart(7)} ms  CPU ${median(r.map((x) => x.us)).toFixed(1).padStart(6)} µs/request`;
      if (name === 'floor') {
        console.log(line);
        continue;
      }
      const ratio = (pick: (x: { rps: number; p99: number; us: number }) => number) => median(r.map((x, i) => pick(x) / pick(rows.floor![i]!))).toFixed(2);
      console.log(
        `${line}  / floor: req/s ${ratio((x) => x.rps)}x, p99 ${ratio((x) => x.p99)}x, CPU ${ratio((x) => x.us)}x` +
          ` (rounds ${r.map((x, i) => (x.rps / rows.floor![i]!.rps).toFixed(2)).join(' ')}); failed ${r.reduce((a, x) => a + x.bad, 0)}`,
      );
    }
  }
} finally {
  await Promise.all(servers.map(([, child]) => child.stop()));
  if (values['redis-url']) await deleteRedisKeys(values['redis-url'], `${redisPrefix}*`);
  rmSync(varDir, { recursive: true, force: true });
}
