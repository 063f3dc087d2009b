/**
 * Helpers shared by `run.ts` (`npm run bench`) and `soak.ts` (`npm run soak`): the compiled services
 * as child processes, a load run through autocannon's programmatic API with exact latency percentiles,
 * resident memory from /proc, Prometheus scrapes, PostgreSQL set-up (a fresh auth database with
 * verified users holding real argon2 hashes) and a small table printer.
 *
 * The load generator is the process that imports this file; the services are its children, so the
 * load never shares an event loop with what it measures (it shares the CPUs, which is why the figures
 * are compared with a baseline measured in the same run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, readdirSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';
import { PasswordHasher, type HashParams } from '../internal/auth-service/services/password_hasher.js';
import { newId } from '../internal/shared/utils/ids.js';
import { imageEnv } from '../scripts/image_env.js';
import { openDatabase } from '../internal/shared/utils/database.js';
import { Migrator } from '../internal/shared/utils/migrations.js';
import { PROJECT_ROOT, migrationsDir } from '../internal/shared/utils/paths.js';

// ---------------------------------------------------------------------------------------------------
// Small things.

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A free TCP port on loopback (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------------
// Child processes.

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  origin: string;
  /** Spawn to the first 200 of the ready path, ms. */
  readyMs: number;
  /** Log lines at warn (40) or above that the child wrote, and its last lines of output. */
  warnings(): { count: number; errors: number; last: string[] };
  stop(): Promise<number | null>;
}

export interface SpawnOptions {
  name: string;
  /** Script under dist/, e.g. `cmd/course-service/main.js`. */
  script: string;
  args?: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  readyPath?: string;
  timeoutMs?: number;
  nodeArgs?: string[];
  /**
   * Standard output into this file rather than a pipe to this process: at `info` a service writes a
   * line or two per request, and parsing them here would take CPU from the load generator (and so from
   * the measured run). The file is read for `warnings()` when asked.
   */
  logFile?: string;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** Spawns `node dist/<script>` and waits until `readyPath` answers 200. */
export async function startChild(options: SpawnOptions): Promise<Child> {
  const origin = `http://127.0.0.1:${options.port}`;
  const started = performance.now();
  const proc = spawn(process.execPath, [...(options.nodeArgs ?? []), join(PROJECT_ROOT, 'dist', options.script), ...(options.args ?? [])], {
    // The services run as the Docker image runs them (its NODE_OPTIONS and MALLOC_ARENA_MAX), unless the
    // caller says otherwise.
    env: { ...imageEnv(), ...options.env },
    stdio: ['ignore', options.logFile ? openSync(options.logFile, 'a') : 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  let count = 0;
  let errors = 0;
  const onData = (chunk: Buffer | string) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 50) tail.shift();
      // pino writes the level as a number or (with formatters) a label; anything else is stderr text.
      const match = /"level":(?:(\d+)|"(\w+)")/.exec(line);
      const level = match ? (match[1] ? Number(match[1]) : (LEVELS[match[2]!] ?? 60)) : 60;
      if (level >= 40) count++;
      if (level >= 50) errors++;
    }
  };
  proc.stdout?.on('data', onData);
  let fileRead = false;
  const readLogFile = () => {
    if (!options.logFile || fileRead) return;
    fileRead = true;
    try {
      onData(readFileSync(options.logFile, 'utf8'));
    } catch {
      // no file, no lines
    }
  };
  proc.stderr!.on('data', onData);
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve((exited = code))));

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let readyMs = NaN;
  while (Date.now() < deadline) {
    if (exited !== undefined) break;
    try {
      const res = await fetch(origin + (options.readyPath ?? '/readyz'));
      await res.arrayBuffer();
      if (res.ok) {
        readyMs = performance.now() - started;
        break;
      }
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  if (!Number.isFinite(readyMs)) {
    proc.kill('SIGKILL');
    readLogFile();
    throw new Error(`${options.name} did not become ready${exited !== undefined ? ` (exit ${exited})` : ''}:\n${tail.join('\n')}`);
  }
  return {
    name: options.name,
    proc,
    pid: proc.pid!,
    origin,
    readyMs,
    warnings: () => {
      readLogFile();
      return { count, errors, last: tail.slice(-10) };
    },
    async stop() {
      if (exited !== undefined) return exited;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Memory: resident set size from /proc.

export interface MemoryReading {
  rss: number;
  hwm: number;
}

export function memoryOf(pid: number): MemoryReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples the RSS of some processes every `intervalMs`; `window()` gives the peak since the last call. */
export class MemoryWatch {
  private readonly timer: NodeJS.Timeout;
  private peaks = new Map<string, number>();
  readonly series: { t: number; rss: Record<string, number> }[] = [];
  private readonly t0 = Date.now();

  constructor(
    private readonly pids: () => Record<string, number>,
    intervalMs = 250,
    private readonly keepSeriesEvery = 0,
  ) {
    let n = 0;
    this.timer = setInterval(() => {
      const row: Record<string, number> = {};
      for (const [name, pid] of Object.entries(this.pids())) {
        const m = memoryOf(pid);
        if (!m) continue;
        row[name] = m.rss;
        this.peaks.set(name, Math.max(this.peaks.get(name) ?? 0, m.rss));
      }
      if (this.keepSeriesEvery > 0 && n++ % this.keepSeriesEvery === 0) this.series.push({ t: Date.now() - this.t0, rss: row });
    }, intervalMs);
    this.timer.unref();
  }

  /** Peak sampled RSS of each process since the previous call (then starts a new window). */
  window(): Record<string, number> {
    const out = Object.fromEntries(this.peaks);
    this.peaks = new Map();
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------------------------------------------
// CPU: where the two cores go during a scenario (the services, this load generator, Redis, PostgreSQL).

const CLOCK_TICKS = 100;

/** utime + stime of a process, seconds (/proc/<pid>/stat, USER_HZ = 100 on Linux). */
function cpuOfPid(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** CPU seconds of each process whose command name starts with `comm` (e.g. postgres), by pid. */
function cpuOfCommand(comm: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name.startsWith(comm)) out.set(Number(entry), cpuOfPid(Number(entry)));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU used by a group of processes between two readings (a process that ended in between is not counted). */
function groupDelta(before: Map<number, number> | undefined, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, cpu] of after) total += cpu - (before?.get(pid) ?? 0);
  return total;
}

/**
 * CPU used between `start()` and `stop()`, as a share of one core: the given child processes, this
 * process (the load generator), Redis and PostgreSQL (every backend), and the whole machine (/proc/stat).
 */
export class CpuWindow {
  private before: Record<string, number> = {};
  private groupsBefore: Record<string, Map<number, number>> = {};
  private t0 = 0;
  /** CPU seconds of each process over the last window (for CPU per request: divide by the answers). */
  lastSeconds: Record<string, number> = {};

  constructor(private readonly pids: () => Record<string, number>) {}

  private read(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids())) out[name] = cpuOfPid(pid);
    const self = process.cpuUsage();
    out['load generator'] = (self.user + self.system) / 1e6;
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
    out['machine (all)'] = (cpu.reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0)) / CLOCK_TICKS;
    return out;
  }

  private groups(): Record<string, Map<number, number>> {
    return { redis: cpuOfCommand('redis-server'), postgres: cpuOfCommand('postgres') };
  }

  start(): void {
    this.before = this.read();
    this.groupsBefore = this.groups();
    this.t0 = performance.now();
  }

  /** Percent of one core per process over the window (200 = both cores of a 2-core machine). */
  stop(): Record<string, number> {
    const seconds = (performance.now() - this.t0) / 1000;
    const after = this.read();
    const groups = this.groups();
    const used: Record<string, number> = Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] ?? 0) - (this.before[k] ?? 0)]));
    for (const [name, now] of Object.entries(groups)) used[name] = groupDelta(this.groupsBefore[name], now);
    this.lastSeconds = { ...used };
    const machine = used['machine (all)']!;
    delete used['machine (all)'];
    used['machine (all)'] = machine;
    return Object.fromEntries(Object.entries(used).map(([k, v]) => [k, round((100 * v) / seconds, 0)]));
  }
}

// ---------------------------------------------------------------------------------------------------
// Prometheus.

/** Every sample of a /metrics answer, keyed `name{labels}` as written. */
export async function scrape(origin: string): Promise<Map<string, number>> {
  const res = await fetch(`${origin}/metrics`);
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** The first sample whose name is `name` (any labels). */
export function metric(samples: Map<string, number>, name: string, labelFilter = ''): number {
  for (const [key, value] of samples) {
    if ((key === name || key.startsWith(`${name}{`)) && key.includes(labelFilter)) return value;
  }
  return NaN;
}

/** Sum of the samples named `name` whose labels contain `labelFilter`. */
export function metricSum(samples: Map<string, number>, name: string, labelFilter = ''): number {
  let sum = 0;
  for (const [key, value] of samples) {
    if ((key === name || key.startsWith(`${name}{`)) && key.includes(labelFilter)) sum += value;
  }
  return sum;
}

// ---------------------------------------------------------------------------------------------------
// Load.

export interface RequestSpec {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadOptions {
  origin: string;
  connections: number;
  durationS: number;
  /** The next request to send (called once per request, from any connection). */
  next: () => RequestSpec;
  /** Requests per second over all connections (open-loop pacing); absent = as fast as answers come. */
  rate?: number;
  timeoutS?: number;
}

export interface LoadResult {
  connections: number;
  durationS: number;
  rate?: number;
  responses: number;
  rps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
}

/**
 * One autocannon run. Latency is every response's own time (autocannon's `response` event, sub-ms
 * resolution) and the percentiles are exact nearest-rank over all of them, not the histogram's
 * integer milliseconds; p95 is therefore measured, not interpolated from p90/p97.5.
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let t0 = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.origin,
        connections: options.connections,
        duration: options.durationS,
        timeout: options.timeoutS ?? 10,
        ...(options.rate ? { overallRate: options.rate } : {}),
        requests: [
          {
            setupRequest: (request) => {
              const spec = options.next();
              return {
                ...request,
                method: spec.method ?? 'GET',
                path: spec.path,
                body: spec.body ?? '',
                headers: { ...(spec.body ? { 'content-type': 'application/json' } : {}), ...spec.headers },
              };
            },
          },
        ],
      },
      (err, result) => {
        if (err) return reject(err);
        const seconds = (performance.now() - t0) / 1000;
        const sorted = Float64Array.from(latencies).sort();
        const mean = latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1);
        resolve({
          connections: options.connections,
          durationS: round(seconds, 2),
          ...(options.rate ? { rate: options.rate } : {}),
          responses: latencies.length,
          rps: round(latencies.length / seconds, 1),
          latencyMs: {
            p50: round(percentile(sorted, 50), 3),
            p95: round(percentile(sorted, 95), 3),
            p99: round(percentile(sorted, 99), 3),
            max: round(sorted[sorted.length - 1] ?? NaN, 3),
            mean: round(mean, 3),
          },
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          statusCodes,
        });
      },
    );
    t0 = performance.now();
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, ms: number) => {
      latencies.push(ms);
      statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    });
  });
}

/**
 * Open-loop load at a steady rate: a request is started every 1/rate s whatever the answers do (the
 * schedule is kept from the start time, so timer jitter does not lower the rate), over a keep-alive
 * pool. Latency runs from the scheduled send to the end of the body. (autocannon's own `overallRate`
 * sends each connection's quota for the second back to back and then waits, i.e. bursts.)
 */
export async function runPaced(options: { origin: string; rate: number; durationS: number; next: () => RequestSpec; maxSockets?: number }): Promise<LoadResult> {
  const url = new URL(options.origin);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let timeouts = 0;
  let non2xx = 0;
  const inFlight = new Set<Promise<void>>();
  const send = (scheduled: number) => {
    const spec = options.next();
    const p = new Promise<void>((resolve) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, agent, method: spec.method ?? 'GET', path: spec.path, headers: { ...(spec.body ? { 'content-type': 'application/json' } : {}), ...spec.headers }, timeout: 10_000 },
        (res) => {
          res.on('data', () => undefined);
          res.on('end', () => {
            latencies.push(performance.now() - scheduled);
            const code = res.statusCode ?? 0;
            statusCodes[code] = (statusCodes[code] ?? 0) + 1;
            if (code < 200 || code >= 300) non2xx++;
            resolve();
          });
        },
      );
      req.on('timeout', () => {
        timeouts++;
        req.destroy();
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(spec.body);
    });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
  };
  const t0 = performance.now();
  const total = Math.round(options.rate * options.durationS);
  const interval = 1000 / options.rate;
  let sent = 0;
  while (sent < total) {
    const now = performance.now();
    while (sent < total && t0 + sent * interval <= now) send(t0 + sent++ * interval);
    await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, t0 + sent * interval - performance.now())));
  }
  await Promise.all(inFlight);
  agent.destroy();
  const seconds = (performance.now() - t0) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    connections: 0,
    durationS: round(seconds, 2),
    rate: options.rate,
    responses: latencies.length,
    rps: round(latencies.length / seconds, 1),
    latencyMs: {
      p50: round(percentile(sorted, 50), 3),
      p95: round(percentile(sorted, 95), 3),
      p99: round(percentile(sorted, 99), 3),
      max: round(sorted[sorted.length - 1] ?? NaN, 3),
      mean: round(latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1), 3),
    },
    errors,
    timeouts,
    non2xx,
    statusCodes,
  };
}

/** Cycles through a list. */
export function cycle<T>(items: readonly T[], start = 0): () => T {
  if (items.length === 0) throw new Error('cycle over an empty list');
  let i = start;
  return () => items[i++ % items.length]!;
}

// ---------------------------------------------------------------------------------------------------
// PostgreSQL.

/** Creates a database (dropping it first when `reset`), through the server's `postgres` database. */
export async function ensureDatabase(url: string, reset: boolean): Promise<void> {
  const admin = new URL(url);
  const name = decodeURIComponent(admin.pathname.slice(1));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Use a plain database name (letters, digits, _), not "${name}"`);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    if (reset) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}

export async function migrate(url: string, service: 'auth-service' | 'course-service'): Promise<number[]> {
  const db = await openDatabase({ url, dataDir: '', poolSize: 1 });
  try {
    return await new Migrator(db, service, migrationsDir(service)).up();
  } finally {
    await db.close();
  }
}

/** Production argon2id parameters (the auth-service defaults), so a login costs what it costs. */
export const PRODUCTION_HASH: HashParams = { memoryCostKiB: 19456, timeCost: 2, parallelism: 1 };

export interface BenchUser {
  id: string;
  email: string;
  password: string;
  displayName: string;
  role: 'student' | 'instructor';
}

/**
 * Inserts verified users straight into auth-service's `users` table (as the tests do). They share one
 * password and so one argon2id hash made with production parameters: checking it costs exactly what a
 * real login costs, and the set-up does not spend a minute hashing the same work again.
 */
export async function insertVerifiedUsers(
  url: string,
  prefix: string,
  count: number,
  role: BenchUser['role'] = 'student',
  /** Ids to give the users (e.g. a learner the course database already holds); new ids when absent. */
  ids: readonly string[] = [],
): Promise<BenchUser[]> {
  const password = `bench-${prefix}-Pa55word!`;
  const hash = await new PasswordHasher(PRODUCTION_HASH).hash(password);
  const users: BenchUser[] = Array.from({ length: count }, (_, i) => ({
    id: ids[i] ?? newId(),
    email: `${prefix}-${i}@bench.example.com`,
    password,
    displayName: `${prefix[0]!.toUpperCase()}${prefix.slice(1)} ${i}`,
    role,
  }));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let i = 0; i < users.length; i += 500) {
      const batch = users.slice(i, i + 500);
      await client.query(
        `INSERT INTO users (id, email, password_hash, display_name, role, locale, email_verified_at)
         SELECT u.id, u.email, $1, u.name, u.role, 'en', now()
           FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[]) AS u(id, email, name, role)`,
        [hash, batch.map((u) => u.id), batch.map((u) => u.email), batch.map((u) => u.displayName), batch.map((u) => u.role)],
      );
    }
  } finally {
    await client.end();
  }
  return users;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  user: { id: string };
}

export async function login(authOrigin: string, user: { email: string; password: string }): Promise<Tokens> {
  const res = await fetch(`${authOrigin}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email, password: user.password }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`login of ${user.email} failed: ${res.status} ${text}`);
  return JSON.parse(text) as Tokens;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Output.

export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function timestamp(): string {
  return new Date().toISOString().replaceAll(':', '-').replaceAll('.', '-');
}

/** Deletes a run's Redis keys (the cache's version counters never expire by design). */
export async function deleteRedisKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
