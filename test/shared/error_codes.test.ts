/**
 * The error codes are one closed list (ERROR_CODES): the compiler refuses a code that is not in it, and
 * this test refuses a code in it that no code sends any more, so the list and its meanings stay exact.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../internal/shared/utils/errors.js';
import { PROJECT_ROOT } from '../../internal/shared/utils/paths.js';
import { ResponseChecker } from '../helpers/openapi.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('ERROR_CODES', () => {
  it('holds exactly the codes the services send: each is used outside the list itself', () => {
    const code = sources(join(PROJECT_ROOT, 'internal'))
      .map((file) => readFileSync(file, 'utf8'))
      // The list itself does not count as a use.
      .map((text) => text.replace(/export const ERROR_CODES = \{[\s\S]*?\n\} as const/, ''))
      .join('\n');
    const unused = Object.keys(ERROR_CODES).filter((c) => !code.includes(`'${c}'`));
    expect(unused).toEqual([]);
  });

  it('are snake_case, each with a meaning', () => {
    for (const [c, meaning] of Object.entries(ERROR_CODES)) {
      expect(c).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });
});

/** The committed documents: openapi_file.test.ts of each service checks they are what it serves. */
function document(service: 'auth-service' | 'course-service'): OpenApi {
  return parse(readFileSync(join(PROJECT_ROOT, 'swagger', `${service}-swagger.yml`), 'utf8')) as OpenApi;
}
type Answer = { content?: Record<string, { schema?: { allOf?: { properties?: { code?: { enum?: string[] } } }[] } }> };
type OpenApi = { paths: Record<string, Record<string, { responses: Record<string, Answer> }>> };

/** The codes a route's problem answer of `status` lists (undefined when it has no such answer). */
function codesOf(doc: OpenApi, method: string, path: string, status: number): string[] | undefined {
  const answer = doc.paths[path]?.[method]?.responses[String(status)];
  return answer?.content?.['application/problem+json']?.schema?.allOf?.[1]?.properties?.code?.enum;
}

describe('the error codes in the OpenAPI documents', () => {
  const auth = document('auth-service');
  const course = document('course-service');

  it('list, per route and status, the codes that route sends: its own and the shared layers\'', () => {
    expect(codesOf(course, 'post', '/api/v1/courses/{id}/reviews', 409)).toEqual(expect.arrayContaining(['review_exists', 'course_not_published']));
    expect(codesOf(course, 'get', '/api/v1/courses/{id}', 404)).toEqual(['course_not_found']);
    // Validation on every route with input; JSON parsing only where there is a body.
    expect(codesOf(course, 'get', '/api/v1/courses', 400)).toEqual(['bad_request', 'validation_failed', 'invalid_cursor']);
    expect(codesOf(course, 'patch', '/api/v1/courses/{id}', 400)).toContain('malformed_json');
    expect(codesOf(course, 'patch', '/api/v1/courses/{id}', 412)).toEqual(['precondition_failed']);
    // A required token: every refusal of it; an optional one cannot be missing.
    // course-service's revocation list (issue 18) refuses tokens of ended sessions and revoked accounts.
    expect(codesOf(course, 'post', '/api/v1/courses', 401)).toEqual(['unauthorized', 'invalid_token', 'token_expired', 'session_revoked']);
    expect(codesOf(course, 'get', '/api/v1/courses/{id}', 401)).toEqual(['invalid_token', 'token_expired', 'session_revoked']);
    // The auth-service's session check adds its own refusals.
    expect(codesOf(auth, 'get', '/api/v1/users/me', 401)).toEqual(['unauthorized', 'invalid_token', 'token_expired', 'session_revoked', 'token_outdated']);
    expect(codesOf(auth, 'post', '/api/v1/auth/login', 403)).toEqual(['account_disabled', 'email_not_verified', 'account_deletion_pending']);
    expect(codesOf(auth, 'post', '/api/v1/auth/login', 429)).toEqual(['rate_limited']);
    expect(codesOf(auth, 'post', '/api/v1/admin/notifications/{id}/retry', 409)).toEqual(['notification_not_failed']);
    expect(codesOf(auth, 'get', '/api/v1/auth/sessions', 503)).toEqual(['service_unavailable']);
  });

  it('every problem answer lists codes, all of them in ERROR_CODES', () => {
    for (const doc of [auth, course]) {
      for (const [path, ops] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(ops)) {
          for (const [status, answer] of Object.entries(op.responses)) {
            if (!answer.content?.['application/problem+json']) continue;
            const codes = codesOf(doc, method, path, Number(status));
            expect(codes?.length, `${method} ${path} ${status} lists no codes`).toBeGreaterThan(0);
            expect(codes!.filter((c) => !(c in ERROR_CODES)), `${method} ${path} ${status}`).toEqual([]);
          }
        }
      }
    }
  });

  it('are what the tests hold every answer to: a code the route does not list fails them', () => {
    const checker = new ResponseChecker(course as never);
    const problem = (code: string) => ({
      statusCode: 404,
      headers: { 'content-type': 'application/problem+json; charset=utf-8' },
      body: JSON.stringify({ type: `https://example.com/problems/${code}`, title: 'Not Found', status: 404, code, requestId: 'r1' }),
    });
    expect(() => checker.check('GET', '/api/v1/courses/some-slug', problem('course_not_found'))).not.toThrow();
    expect(() => checker.check('GET', '/api/v1/courses/some-slug', problem('review_not_found'))).toThrow();
  });
});
