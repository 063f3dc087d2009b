/**
 * The cost of course-service's revocation check (issue 18) where it runs: in the bearer-token hook,
 * after the signature is verified. `npm run -s build && node dist/bench/revocation-check.js
 * [--iterations 2000] [--rounds 41] [--sessions 10000] [--users 1000]`.
 *
 * Measures CPU time (process.cpuUsage, so other work on the machine weighs little), in this process, the `optionalUser` hook of a course read (the hook of
 * GET /api/v1/courses/{id}) for a request with a valid bearer token, with and without the check, in
 * alternating rounds, and prints the median ratio; then the check alone (ns per call) against a list
 * of `--sessions` revoked sessions and `--users` revoked accounts. An anonymous request (the cached
 * detail of `npm run bench`) returns from the hook before either runs, so its path is unchanged.
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { TokenVerifier } from '../internal/shared/utils/jwt.js';
import { authenticator } from '../internal/shared/middleware/authenticate.js';
import { MemoryStore } from '../internal/shared/utils/redis.js';
import { createLogger } from '../internal/shared/utils/logging.js';
import { RevocationSync } from '../internal/course-service/services/revocation_list.js';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '41' },
    sessions: { type: 'string', default: '10000' },
    users: { type: 'string', default: '1000' },
  },
});
const ITERATIONS = Number(values.iterations);
const ROUNDS = Number(values.rounds);

const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA' };
const verifier = new TokenVerifier(createLocalJWKSet({ keys: [jwk] }), { issuer: 'bench-iss', audience: 'bench-aud' });
const token = await new SignJWT({ role: 'student', name: 'Bench', emailVerified: true, sid: randomUUID() })
  .setProtectedHeader({ alg: 'EdDSA', kid: 'bench', typ: 'at+jwt' })
  .setIssuer('bench-iss')
  .setAudience('bench-aud')
  .setSubject(randomUUID())
  .setJti(randomUUID())
  .setIssuedAt()
  .setExpirationTime('15m')
  .sign(privateKey);

// A list far larger than a real one (every logout and disabling of the last 16 minutes).
const sync = new RevocationSync({ revocations: async () => ({ items: [], cursor: '0.0', more: false }) }, new MemoryStore(), createLogger('silent', 'bench'), {
  pollIntervalMs: 1000,
  channel: 'bench',
});
const now = Date.now();
const expiresAt = new Date(now + 16 * 60_000).toISOString();
sync.list.apply([
  ...Array.from({ length: Number(values.sessions) }, () => ({ kind: 'session' as const, subject: randomUUID(), notBefore: new Date(now).toISOString(), expiresAt })),
  ...Array.from({ length: Number(values.users) }, () => ({ kind: 'user' as const, subject: randomUUID(), notBefore: new Date(now).toISOString(), expiresAt })),
]);

const plain = authenticator(verifier).optionalUser;
const checked = authenticator(verifier, sync.check).optionalUser;

function hookOnce(hook: typeof plain): Promise<void> {
  const request = { headers: { authorization: `Bearer ${token}` }, principal: undefined };
  return new Promise((resolve, reject) => hook(request as never, undefined, (err?: Error) => (err ? reject(err) : resolve())));
}

/** CPU µs of this process per request (user + system): what a busy machine's other work does not inflate. */
async function round(hook: typeof plain): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) await hookOnce(hook);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / ITERATIONS;
}

// Warm-up: JIT and jose's key import.
await round(plain);
await round(checked);
const ratios: number[] = [];
const without: number[] = [];
const withCheck: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // Alternate which goes first, so a drift in what the machine gives weighs on both alike.
  const [a, b] = r % 2 === 0 ? [await round(plain), await round(checked)] : [0, 0];
  const [d, c] = r % 2 === 1 ? [await round(checked), await round(plain)] : [0, 0];
  const off = r % 2 === 0 ? a : c;
  const on = r % 2 === 0 ? b : d;
  without.push(off);
  withCheck.push(on);
  ratios.push(off / on);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

const principal = await verifier.verify(token);
const N = 2_000_000;
const t0 = process.cpuUsage();
for (let i = 0; i < N; i++) sync.check(principal);
const spent = process.cpuUsage(t0);
const checkNs = ((spent.user + spent.system) * 1000) / N;

console.log(`revocation list: ${sync.list.size.sessions} sessions, ${sync.list.size.users} accounts`);
console.log(`bearer hook without the check: ${median(without).toFixed(1)} CPU µs per request (median of ${ROUNDS} rounds of ${ITERATIONS})`);
console.log(`bearer hook with the check:     ${median(withCheck).toFixed(1)} CPU µs per request`);
console.log(`ratio (CPU without / with):     ${median(ratios).toFixed(3)} (rounds: ${ratios.map((x) => x.toFixed(3)).join(', ')})`);
console.log(`the check alone:                ${checkNs.toFixed(1)} CPU ns per call`);
console.log(`the check's share of the hook:  ${((checkNs / 1000 / median(without)) * 100).toFixed(3)} %`);
