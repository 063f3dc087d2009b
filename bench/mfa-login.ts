/**
 * Issue 18's bench figure: sign-in with two-factor authentication against a plain sign-in, at the
 * same offered rate.
 *
 *   npm run -s build && node dist/bench/mfa-login.js [--rate 10] [--duration 10] [--warmup 2] [--rounds 2]
 *     [--users <n>] [--auth-db postgres://.../bench_mfa_auth] [--redis-url ...] [--out bench/results]
 *
 * auth-service runs as a child (as in run.ts) on its own database (recreated each run). Users are
 * inserted with a real argon2id hash (load.ts); half of them then enrol TOTP THROUGH THE API, as a
 * person does: sign in, `POST /api/v1/users/me/mfa/totp` (the secret), `POST .../{id}/activate` with a
 * code computed here by `otpauth` (independently of the service's own TOTP code).
 *
 * Two open-loop windows at the same fixed rate (a flow is started every 1/rate s whatever the answers
 * do, latency from the scheduled start): (a) `POST /api/v1/auth/login` of users without MFA; (b)
 * `POST /api/v1/auth/login` (answers `mfaRequired` and an mfaToken) then `POST /api/v1/auth/mfa/verify`
 * with the current code, measured as the two calls together and each call alone. A TOTP code works once
 * per 30 s step, so a user is sent at most once per step (the run stops with an error rather than
 * reuse one): `--users` defaults to enough distinct users for warm-up and window.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Secret, TOTP } from 'otpauth';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';
import {
  MiB,
  deleteRedisKeys,
  ensureDatabase,
  freePort,
  insertVerifiedUsers,
  login,
  migrate,
  percentile,
  pool,
  round,
  startChild,
  table,
  timestamp,
  type BenchUser,
  type Child,
} from './load.js';

const { values } = parseArgs({
  options: {
    'auth-db': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/bench_mfa_auth' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    rate: { type: 'string', default: '10' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '2' },
    users: { type: 'string', default: '' },
    out: { type: 'string', default: join(PROJECT_ROOT, 'bench', 'results') },
    'log-level': { type: 'string', default: 'warn' },
  },
  strict: true,
});

const num = (name: 'rate' | 'duration' | 'warmup' | 'users' | 'rounds', min = 0) => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, not ${String(values[name])}`);
  return n;
};
const RATE = num('rate', 0.1);
const DURATION = num('duration', 1);
const WARMUP = num('warmup');
const ROUNDS = Math.round(num('rounds', 1));
// Every flow of the MFA windows uses a user not used before in this run (and so not in this step).
const USERS = values.users ? Math.round(num('users', 1)) : Math.ceil(RATE * (WARMUP + DURATION) * ROUNDS * 1.1) + 10;

if (!existsSync(join(PROJECT_ROOT, 'dist', 'cmd', 'auth-service', 'main.js'))) {
  throw new Error('Build first: npm run -s build (the bench runs the compiled services from dist/)');
}

const runId = randomBytes(4).toString('hex');
const startedAt = new Date();
const loadBefore = loadavg();
console.log(`bench mfa-login ${runId}: ${cpus().length} CPUs, load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, node ${process.version}`);

// ---------------------------------------------------------------------------------------------------
// Database and service.

const authDb = values['auth-db'];
process.stdout.write(`auth database: recreating, migrating, inserting ${USERS} + ${USERS} verified users ... `);
await ensureDatabase(authDb, true);
await migrate(authDb, 'auth-service');
const plainUsers = await insertVerifiedUsers(authDb, 'plain', USERS);
const mfaUsers = await insertVerifiedUsers(authDb, 'mfa', USERS);
console.log('done');

const varDir = mkdtempSync(join(tmpdir(), `bench-mfa-${runId}-`));
const port = await freePort();
const inherited = { ...process.env };
for (const name of ['PORT', 'DATABASE_URL', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'AUTH_PORT', 'AUTH_CLIENTS', 'MFA_ENCRYPTION_KEY']) delete inherited[name];
const redisPrefix = `bench-mfa:${runId}:`;
const auth: Child = await startChild({
  name: 'auth-service',
  script: 'cmd/auth-service/main.js',
  port,
  logFile: join(varDir, 'auth-service.log'),
  env: {
    ...inherited,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: values['log-level'],
    VAR_DIR: varDir,
    REDIS_URL: values['redis-url'],
    REDIS_KEY_PREFIX: redisPrefix,
    AUTH_PORT: String(port),
    DATABASE_URL: authDb,
    REFRESH_TOKEN_SECRET: randomBytes(32).toString('base64url'),
    MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  },
});
process.on('SIGINT', () => void auth.stop().then(() => process.exit(130)));
console.log(`auth-service ready in ${round(auth.readyMs, 0)} ms`);

// ---------------------------------------------------------------------------------------------------
// TOTP enrolment through the API.

const STEP_S = 30;
const stepOf = (ms: number) => Math.floor(ms / 1000 / STEP_S);
interface MfaUser extends BenchUser {
  totp: TOTP;
  /** The last time step whose code was sent (activation spends one too). */
  lastStep: number;
}

async function call(method: string, path: string, body: unknown, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(auth.origin + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

const enrolStarted = performance.now();
const enrolled: MfaUser[] = await pool(mfaUsers, 4, async (user) => {
  const tokens = await login(auth.origin, user);
  const enrol = await call('POST', '/api/v1/users/me/mfa/totp', undefined, tokens.accessToken);
  if (enrol.status !== 201) throw new Error(`enrolment of ${user.email}: ${enrol.status} ${JSON.stringify(enrol.json)}`);
  const totp = new TOTP({ secret: Secret.fromBase32(String(enrol.json.secret)), algorithm: 'SHA1', digits: 6, period: STEP_S });
  const now = Date.now();
  const activate = await call('POST', `/api/v1/users/me/mfa/totp/${String(enrol.json.factorId)}/activate`, { code: totp.generate({ timestamp: now }) }, tokens.accessToken);
  if (activate.status !== 200) throw new Error(`activation of ${user.email}: ${activate.status} ${JSON.stringify(activate.json)}`);
  return { ...user, totp, lastStep: stepOf(now) };
});
console.log(`${enrolled.length} users enrolled TOTP through the API in ${round((performance.now() - enrolStarted) / 1000, 1)} s`);

// ---------------------------------------------------------------------------------------------------
// Open-loop driver: a flow every 1/rate s; each flow is one or more calls, each call timed.

interface Timed {
  status: number;
  body: string;
  ms: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function post(path: string, body: string): Promise<Timed> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, agent, method: 'POST', path, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), ms: performance.now() - started }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '', ms: performance.now() - started }));
    req.end(body);
  });
}

interface Stats {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

function stats(xs: number[]): Stats {
  const sorted = Float64Array.from(xs).sort();
  return {
    n: xs.length,
    p50: round(percentile(sorted, 50), 2),
    p95: round(percentile(sorted, 95), 2),
    p99: round(percentile(sorted, 99), 2),
    max: round(sorted[sorted.length - 1] ?? NaN, 2),
    mean: round(xs.reduce((a, b) => a + b, 0) / (xs.length || 1), 2),
  };
}

interface FlowOutcome {
  /** Per-call latencies, by call name. */
  calls: Record<string, number>;
  ok: boolean;
  statuses: string;
}

interface WindowResult {
  name: string;
  rate: number;
  durationS: number;
  flows: number;
  failed: number;
  statuses: Record<string, number>;
  /** From the scheduled start of the flow to the end of its last answer. */
  totalMs: Stats;
  callsMs: Record<string, Stats>;
}

async function paced(name: string, durationS: number, flow: () => Promise<FlowOutcome>, keep: (totalMs: number, calls: Record<string, number>) => void): Promise<WindowResult> {
  const totals: number[] = [];
  const perCall: Record<string, number[]> = {};
  const statuses: Record<string, number> = {};
  let failed = 0;
  const inFlight = new Set<Promise<void>>();
  const t0 = performance.now();
  const total = Math.round(RATE * durationS);
  const interval = 1000 / RATE;
  let sent = 0;
  const start = (scheduled: number) => {
    const p = flow().then((o) => {
      const totalMs = performance.now() - scheduled;
      totals.push(totalMs);
      for (const [k, v] of Object.entries(o.calls)) (perCall[k] ??= []).push(v);
      if (o.ok) keep(totalMs, o.calls);
      statuses[o.statuses] = (statuses[o.statuses] ?? 0) + 1;
      if (!o.ok) failed++;
    });
    inFlight.add(p);
    void p.then(() => inFlight.delete(p));
  };
  while (sent < total) {
    const now = performance.now();
    while (sent < total && t0 + sent * interval <= now) start(t0 + sent++ * interval);
    await new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, t0 + sent * interval - performance.now())));
  }
  await Promise.all(inFlight);
  return {
    name,
    rate: RATE,
    durationS: round((performance.now() - t0) / 1000, 2),
    flows: totals.length,
    failed,
    statuses,
    totalMs: stats(totals),
    callsMs: Object.fromEntries(Object.entries(perCall).map(([k, v]) => [k, stats(v)])),
  };
}

// (a) plain sign-in.
let nextPlain = 0;
const plainFlow = async (): Promise<FlowOutcome> => {
  const u = plainUsers[nextPlain++ % plainUsers.length]!;
  const r = await post('/api/v1/auth/login', JSON.stringify({ email: u.email, password: u.password }));
  return { calls: { login: r.ms }, ok: r.status === 200 && r.body.includes('"accessToken"'), statuses: String(r.status) };
};

// (b) sign-in with TOTP: login (mfaRequired), then verify with the code of now, each user once per step.
let nextMfa = 0;
const mfaFlow = async (): Promise<FlowOutcome> => {
  const u = enrolled[nextMfa++ % enrolled.length]!;
  const first = await post('/api/v1/auth/login', JSON.stringify({ email: u.email, password: u.password }));
  let mfaToken = '';
  try {
    mfaToken = String((JSON.parse(first.body) as { mfaToken?: string }).mfaToken ?? '');
  } catch {
    // not JSON: counted as failed below
  }
  if (first.status !== 200 || !mfaToken) return { calls: { login: first.ms }, ok: false, statuses: `${first.status}` };
  const now = Date.now();
  if (stepOf(now) <= u.lastStep) throw new Error(`user ${u.email} would be used twice in one 30 s step: raise --users`);
  u.lastStep = stepOf(now);
  const second = await post('/api/v1/auth/mfa/verify', JSON.stringify({ mfaToken, method: 'totp', code: u.totp.generate({ timestamp: now }) }));
  return {
    calls: { login: first.ms, verify: second.ms },
    ok: second.status === 200 && second.body.includes('"accessToken"'),
    statuses: `${first.status}+${second.status}`,
  };
};

// The two windows alternate for --rounds rounds (a window measured first, just after the enrolment,
// had the service's warm-up in it); the figures pool every measured flow of a kind.
const windows: WindowResult[] = [];
const pooled: Record<'plain' | 'mfa', { totals: number[]; calls: Record<string, number[]> }> = { plain: { totals: [], calls: {} }, mfa: { totals: [], calls: {} } };
for (let round_ = 1; round_ <= ROUNDS; round_++) {
  for (const [kind, name, flow] of [
    ['plain', 'login, no MFA', plainFlow],
    ['mfa', 'login + mfa/verify (TOTP)', mfaFlow],
  ] as const) {
    if (WARMUP > 0) await paced(`${name} (warm-up)`, WARMUP, flow, () => undefined);
    const w = await paced(`${name}, round ${round_}`, DURATION, flow, (total, calls) => {
      pooled[kind].totals.push(total);
      for (const [k, v] of Object.entries(calls)) (pooled[kind].calls[k] ??= []).push(v);
    });
    windows.push(w);
    console.log(`  ${w.name}: ${w.flows} flows in ${w.durationS} s, p95 ${w.totalMs.p95} ms, statuses ${JSON.stringify(w.statuses)}, failed ${w.failed}`);
  }
}

agent.destroy();
const warnings = auth.warnings();
await auth.stop();
await deleteRedisKeys(values['redis-url'], `${redisPrefix}*`);
const loadAfter = loadavg();

// ---------------------------------------------------------------------------------------------------
// Report.

const plain = { totalMs: stats(pooled.plain.totals) };
const mfa = { totalMs: stats(pooled.mfa.totals), callsMs: Object.fromEntries(Object.entries(pooled.mfa.calls).map(([k, v]) => [k, stats(v)])) };
const failed = windows.reduce((a, w) => a + w.failed, 0);
const row = (name: string, s: Stats) => [name, s.n, s.p50, s.p95, s.p99, s.max];
console.log(`\nopen loop at ${RATE} sign-ins/s, ${ROUNDS} x ${DURATION} s windows of each, successful flows pooled (ms, from the scheduled start); failed flows: ${failed}`);
console.log(
  table(
    ['flow', 'n', 'p50', 'p95', 'p99', 'max'],
    [
      row('login, no MFA', plain.totalMs),
      row('login + verify (both calls)', mfa.totalMs),
      row('  login (answers mfaRequired)', mfa.callsMs.login ?? stats([])),
      row('  mfa/verify', mfa.callsMs.verify ?? stats([])),
    ],
  ),
);
const ratio = {
  p50: round(mfa.totalMs.p50 / plain.totalMs.p50, 2),
  p95: round(mfa.totalMs.p95 / plain.totalMs.p95, 2),
  p99: round(mfa.totalMs.p99 / plain.totalMs.p99, 2),
};
console.log(`ratio login+verify / plain login: p50 ${ratio.p50}x, p95 ${ratio.p95}x, p99 ${ratio.p99}x`);
console.log(`load average before ${loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${loadAfter.map((x) => x.toFixed(2)).join(' ')}`);
if (warnings.count) console.log(`auth-service: ${warnings.count} log lines at warn or above (${warnings.errors} errors); last: ${warnings.last.slice(-2).join(' | ')}`);

mkdirSync(values.out, { recursive: true });
const file = join(values.out, `mfa-login-${timestamp()}.json`);
writeFileSync(
  file,
  JSON.stringify(
    {
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryMiB: Math.round(totalmem() / MiB), node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadAfter },
      settings: { rate: RATE, duration: DURATION, warmup: WARMUP, rounds: ROUNDS, users: USERS, authDb, logLevel: values['log-level'] },
      pooled: { plainLoginMs: plain.totalMs, mfaLoginMs: mfa.totalMs, mfaCallsMs: mfa.callsMs },
      ratio,
      failedFlows: failed,
      windows,
      warnings,
    },
    null,
    2,
  ),
);
console.log(`wrote ${file}`);
process.exit(failed > 0 ? 1 : 0);
