/** Problem answers (RFC 9457) for malformed requests, and request ids. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness, type CallResult } from '../helpers/auth_app.js';

const BODY_LIMIT = 2048;

function expectProblem(res: CallResult, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, type: `https://errors.course-platform.dev/${code}` });
  expect(typeof res.body.title).toBe('string');
  expect(res.body.requestId).toBe(res.headers['x-request-id']);
  // Nothing internal leaks: no stack, no SQL, no driver text.
  expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+|SELECT |INSERT |node_modules|FST_/);
}

describe.skipIf(!hasPostgres)('errors and request ids', () => {
  let h: AuthHarness;
  beforeAll(async () => {
    h = await startAuth({ http: { bodyLimit: BODY_LIMIT } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('malformed JSON → 400 malformed_json', async () => {
    const res = await h.call('POST', '/api/v1/auth/login', { body: '{"email": "a@example.com", "password": ', headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'malformed_json');
  });

  it('an empty body declared as JSON → 400 malformed_json', async () => {
    const res = await h.call('POST', '/api/v1/auth/login', { body: '', headers: { 'content-type': 'application/json' } });
    expectProblem(res, 400, 'malformed_json');
  });

  it('a content type the route does not take → 415 unsupported_media_type', async () => {
    const res = await h.call('POST', '/api/v1/auth/login', { body: 'email=a@example.com&password=x', headers: { 'content-type': 'text/plain' } });
    expectProblem(res, 415, 'unsupported_media_type');
    const xml = await h.call('POST', '/api/v1/auth/register', { body: '<register/>', headers: { 'content-type': 'application/xml' } });
    expectProblem(xml, 415, 'unsupported_media_type');
  });

  it('a body over http.bodyLimit → 413 payload_too_large, for JSON and for forms', async () => {
    const big = { email: 'big@example.com', password: 'p'.repeat(100), displayName: 'x'.repeat(BODY_LIMIT) };
    expectProblem(await h.call('POST', '/api/v1/auth/register', { body: big }), 413, 'payload_too_large');
    expectProblem(await h.call('POST', '/api/v1/auth/login', { body: { email: 'a@example.com', password: 'p'.repeat(BODY_LIMIT) } }), 413, 'payload_too_large');
    const form = await h.call('POST', '/api/v1/auth/token', { form: { grant_type: 'client_credentials', client_id: 'x', client_secret: 's'.repeat(BODY_LIMIT) } });
    expectProblem(form, 413, 'payload_too_large');
    // Just under the limit is fine (and then refused on its merits).
    const small = await h.call('POST', '/api/v1/auth/login', { body: { email: 'a@example.com', password: 'p'.repeat(600) } });
    expectProblem(small, 400, 'validation_failed');
  });

  it('schema violations → 400 validation_failed with errors[].path and message', async () => {
    const res = await h.call('POST', '/api/v1/auth/login', { body: { email: 'a@example.com' } });
    expectProblem(res, 400, 'validation_failed');
    expect(res.body.errors).toEqual([{ path: 'body.password', message: expect.any(String) }]);
    const wrongType = await h.call('POST', '/api/v1/auth/login', { body: ['a', 'b'] });
    expectProblem(wrongType, 400, 'validation_failed');
    expect(wrongType.body.errors[0].path).toBe('body');
  });

  it('an unknown route → 404 not_found problem, for any method', async () => {
    for (const [method, url] of [['GET', '/api/v1/nope'], ['POST', '/api/v1/auth/nope'], ['DELETE', '/api/v1/users/me']] as const) {
      const res = await h.call(method, url);
      expectProblem(res, 404, 'not_found');
      expect(res.body.detail).toContain(url);
    }
    // The query string (it may hold a token) is not echoed.
    const withQuery = await h.call('GET', '/api/v1/nope?token=secret-value');
    expect(withQuery.text).not.toContain('secret-value');
  });

  it('generates a request id when none is given and returns it in the header and the problem', async () => {
    const a = await h.call('GET', '/api/v1/users/me');
    const b = await h.call('GET', '/api/v1/users/me');
    expectProblem(a, 401, 'unauthorized');
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
  });

  it('echoes a valid X-Request-Id, in successes and problems alike', async () => {
    const ok = await h.call('GET', '/healthz', { headers: { 'x-request-id': 'trace-abc.123:xyz' } });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-request-id']).toBe('trace-abc.123:xyz');
    const problem = await h.call('POST', '/api/v1/auth/login', { body: {}, headers: { 'x-request-id': 'client-req-42' } });
    expectProblem(problem, 400, 'validation_failed');
    expect(problem.body.requestId).toBe('client-req-42');
  });

  it('replaces an invalid X-Request-Id (spaces, too long, header injection) with a fresh one', async () => {
    for (const given of ['has spaces', 'x'.repeat(129), 'a"b', '<script>']) {
      const res = await h.call('GET', '/api/v1/users/me', { headers: { 'x-request-id': given } });
      expect(res.headers['x-request-id']).not.toBe(given);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
    }
  });

  it('sets defensive headers on every answer', async () => {
    const res = await h.call('GET', '/api/v1/nope');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-store');
  });
});
