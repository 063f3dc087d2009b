/**
 * Hardening, part 1 (auth-service): hostile input for every operation of the served OpenAPI document.
 *
 * Every operation (paths × methods of `app.swagger()`) gets, generated from its schemas:
 *  - a batch of requests designed to be refused (see generators.ts): missing and unknown fields, wrong
 *    types, empty/overlong/100 kB strings, odd Unicode and injection strings where the schema forbids
 *    them, bad and unknown ids, bad limits and cursors (garbage and tampered real ones), repeated and
 *    bracketed query arrays, malformed JSON, wrong content types, bodies over http.bodyLimit, and no,
 *    forged or tampered tokens, Basic credentials that do not decode (the token endpoint); fast-check
 *    (fixed seed) adds random JSON and text on top of the fixed lists, and every variant of a secured
 *    operation is sent with a real admin token and without one.
 *    Every answer must be a documented 4xx problem+json without stack traces or SQL, and the database
 *    must be exactly as before the batch (row-by-row md5 of every table, mails included).
 *    Rule for 2xx answers in this batch: only a GET may ignore a query parameter it does not declare
 *    (or bracket syntax of one it does); any other 2xx is a finding and fails the test.
 *  - hostile text that the schema allows (the fixed lists, token-shaped strings whose parts are not what
 *    the server parses them into, and fast-check strings, fixed seed) in every free-text field and
 *    query parameter: the server may accept it, but never answers 5xx, never leaks, and an answer
 *    that shows the field holds what was sent (trimmed at most). NUL and unpaired surrogates, which
 *    PostgreSQL cannot store, are refused with 400 by the shared server.
 *
 * Rate limits are off, so the requests reach the validators and handlers rather than 429.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuth, type AuthHarness, SERVICE_CLIENT } from '../helpers/auth_app.js';
import { hasPostgres } from '../helpers/services.js';
import {
  baseBody,
  contentVariants,
  dump,
  fingerprint,
  logIgnored,
  operationsOf,
  pathValues,
  refusedVariants,
  report,
  sendAll,
  validValue,
  type BaseRequest,
  type Operation,
  type Variant,
} from './generators.js';

const SEED = 20240611;

interface Principal {
  id: string;
  email: string;
  password: string;
  token: string;
  refreshToken: string;
}

describe.skipIf(!hasPostgres)('hostile input: auth-service', () => {
  let h: AuthHarness;
  let ops: Operation[];
  let admin: Principal;
  let student: Principal;
  let spare: Principal;
  const ids: Record<string, string> = {};
  const cursors = new Map<string, string[]>();
  const started = Date.now();
  const sent = { refused: 0, content: 0 };

  async function principal(role: 'student' | 'instructor' | 'admin'): Promise<Principal> {
    const u = await h.newUser({ role });
    const login = await h.login(u.email, u.password);
    return { id: u.id, email: u.email, password: u.password, token: login.accessToken, refreshToken: login.refreshToken };
  }

  /** A request that passes the schema, aimed at real rows, for the variants to break one thing of. */
  function baseFor(op: Operation, who: Principal): BaseRequest {
    const path = pathValues(op, ids);
    const query: [string, string][] = [];
    for (const p of op.parameters.filter((x) => x.in === 'query')) {
      if (p.name === 'limit') query.push(['limit', '1']);
      else if (p.required) query.push([p.name, p.name === 'token' ? `${randomUUID()}.not-a-mac` : String(validValue(p.schema))]);
    }
    const given: Record<string, unknown> = {
      email: student.email,
      password: student.password,
      currentPassword: who.password,
      refreshToken: spare.refreshToken,
      userId: student.id,
      idempotencyKey: `hostile-${randomUUID()}`,
      data: { courseTitle: 'Course', rating: 4, authorName: 'Author' },
      grant_type: 'client_credentials',
      client_id: SERVICE_CLIENT.id,
    };
    let body: Record<string, unknown> | undefined;
    if (op.body) {
      const props = op.body.schema.properties ?? {};
      body = baseBody(op.body.schema, Object.fromEntries(Object.entries(given).filter(([k]) => k in props)));
    }
    return { path, query, ...(body ? { body } : {}) };
  }

  beforeAll(async () => {
    h = await startAuth({
      rateLimits: { enabled: false },
      auth: { requireEmailVerification: false, verificationResendIntervalSec: 0 },
    });
    ops = operationsOf(h.app.swagger());
    admin = await principal('admin');
    // A second login, so that the admin's own security activity has a second page.
    await h.login(admin.email, admin.password);
    student = await principal('student');
    spare = await principal('student');
    // Its refresh token names a real session that has ended: logout takes a live one as proof without an
    // access token, and the forged-token variants must stay refused.
    expect((await h.call('POST', '/api/v1/auth/logout', { token: spare.token })).status).toBe(204);
    for (let i = 0; i < 3; i++) await principal('instructor');
    // Two mails, so that the mail list has a second page.
    for (let i = 0; i < 2; i++) {
      const res = await h.call('POST', '/api/v1/notifications', {
        token: admin.token,
        body: { userId: student.id, template: 'review_created', data: { courseTitle: 'Seed course', rating: 5, authorName: 'Seed author' }, idempotencyKey: `seed-${i}` },
      });
      expect(res.status, res.text).toBe(202);
      ids.notifications = res.body.id;
    }
    const sessions = await h.call('GET', '/api/v1/auth/sessions', { token: admin.token });
    ids.sessions = sessions.body.items?.[0]?.id ?? sessions.body[0]?.id ?? randomUUID();
    ids.users = student.id;
    // The delivery worker must be done before the fingerprint: it updates the mails it sends.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const q = await h.database.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE status = 'queued'`);
      if (q.rows[0]!.n === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // Real cursors (first pages of one item), to tamper with.
    for (const op of ops.filter((o) => o.method === 'GET' && o.parameters.some((p) => p.name === 'cursor'))) {
      const base = baseFor(op, admin);
      const res = await h.app.inject({ method: 'GET', url: `${op.path}?${new URLSearchParams(base.query).toString()}`, headers: { authorization: `Bearer ${admin.token}` } });
      const next = (JSON.parse(res.body) as { nextCursor?: string | null }).nextCursor;
      cursors.set(op.path, next ? [next] : []);
    }
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('walks every operation of the served document', () => {
    const doc = h.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const count = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).filter((m) => ['get', 'put', 'post', 'delete', 'patch'].includes(m)).length, 0);
    expect(ops.length).toBe(count);
    expect(ops.length).toBeGreaterThan(20);
    // The suite needs the real cursors to tamper with.
    for (const [path, list] of cursors) expect(list.length, `no second page of ${path}`).toBe(1);
  });

  it('refuses every hostile request with a documented 4xx problem, and changes nothing in the database', async () => {
    const variants: Variant[] = ops.flatMap((op) =>
      refusedVariants(op, baseFor(op, admin), { bodyLimit: h.config.http.bodyLimit, cursors: cursors.get(op.path), token: admin.token, seed: SEED, runs: 30, alsoWithoutToken: true }),
    );
    const before = await fingerprint(h.database.db);
    const outcomes = await sendAll(h.app, h.checker, variants, () => admin.token);
    const after = await fingerprint(h.database.db);
    sent.refused = outcomes.length;
    // A floor (4486 were sent when it was set): generators that silently stop producing fail here.
    expect(outcomes.length).toBeGreaterThan(3000);

    const perOp = new Map<string, number>();
    for (const o of outcomes) perOp.set(o.variant.op.operationId, (perOp.get(o.variant.op.operationId) ?? 0) + 1);
    for (const op of ops) expect(perOp.get(op.operationId) ?? 0, `${op.method} ${op.path} got no hostile request`).toBeGreaterThan(0);

    dump('auth', outcomes);
    const findings = report(outcomes);
    expect(findings, findings.join('\n')).toEqual([]);
    expect(after, 'a refused request changed the database').toEqual(before);
    expect(outcomes.filter((o) => o.status >= 400).length).toBeGreaterThan(outcomes.length * 0.95);
    logIgnored('auth', outcomes);
  }, 120_000);

  it('survives hostile text that the schemas allow (injection strings, odd Unicode, fast-check strings)', async () => {
    const variants: Variant[] = [];
    const tokens = new Map<string, string>();
    for (const op of ops) {
      // A fresh admin for each operation: logout, password change and the like may use up its session.
      const who = op.secured || op.optionalAuth ? await principal('admin') : admin;
      tokens.set(op.operationId, who.token);
      variants.push(...contentVariants(op, baseFor(op, who), { seed: SEED, runs: 30 }));
    }
    const outcomes = await sendAll(h.app, h.checker, variants, (v) => tokens.get(v.op.operationId));
    sent.content = outcomes.length;
    dump('auth', outcomes);
    const findings = report(outcomes);
    expect(findings, findings.join('\n')).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(1000); // 1372 when set
  }, 120_000);

  // The size of the run for the hardening report (not a test: each test above asserts its own minimum).
  afterAll(() => {
    console.error(`auth-service hostile input: ${sent.refused} refused-batch requests, ${sent.content} content probes, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
});
