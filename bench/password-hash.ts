/**
 * Time of one password hash and one verification with the production parameters (argon2id, OWASP:
 * m=19 MiB, t=2, p=1), as PasswordHasher does it, and how many run at once on the libuv pool.
 *   npm run -s build && node dist/bench/password-hash.js [--runs 40]
 */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { loadAuthConfig } from '../internal/auth-service/config.js';
import { PasswordHasher } from '../internal/auth-service/services/password_hasher.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '40' } } });
const runs = Number(values.runs);
const params = loadAuthConfig({ env: {} }).passwords;
const hasher = new PasswordHasher(params);

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const hash = await hasher.hash('warm-up password');
const hashes: number[] = [];
const verifies: number[] = [];
for (let i = 0; i < runs; i++) {
  hashes.push(await time(() => hasher.hash(`correct horse battery staple ${i}`)));
  verifies.push(await time(() => hasher.verify(hash, 'warm-up password')));
}
hashes.sort((a, b) => a - b);
verifies.sort((a, b) => a - b);
// Throughput with the libuv pool busy (UV_THREADPOOL_SIZE, default 4) while the event loop stays free.
const parallel = 16;
const wall = await time(() => Promise.all(Array.from({ length: parallel }, (_, i) => hasher.hash(`p${i}`))));
console.log(`argon2id m=${params.memoryCostKiB} KiB t=${params.timeCost} p=${params.parallelism}, ${runs} runs, ${availableParallelism()} cores`);
console.log(`hash    p50 ${quantile(hashes, 0.5).toFixed(1)} ms  p95 ${quantile(hashes, 0.95).toFixed(1)} ms`);
console.log(`verify  p50 ${quantile(verifies, 0.5).toFixed(1)} ms  p95 ${quantile(verifies, 0.95).toFixed(1)} ms`);
console.log(`${parallel} hashes at once: ${wall.toFixed(0)} ms wall (${(parallel / (wall / 1000)).toFixed(0)} hashes/s)`);
