/**
 * How course-service treats access tokens: verified against auth-service's JWKS over HTTP (EdDSA only,
 * configured issuer and audience, `exp` required). Forged, expired and foreign tokens are 401, on
 * public routes too (a bad token never silently becomes "anonymous"). A key added to the JWKS is picked
 * up without a restart (refetch on an unknown `kid`).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startCourse, startPlatform, type CourseHarness, type Platform, type PlatformUser } from '../helpers/course_app.js';
import { newId } from '../../internal/shared/utils/ids.js';
import { newCourseInput, publishedCourseOverHttp } from './factories.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe.skipIf(!hasPostgres)('course-service HTTP: access tokens', () => {
  let p: Platform;
  let instructor: PlatformUser;
  let courseId: string;

  beforeAll(async () => {
    p = await startPlatform();
    instructor = await p.user({ role: 'instructor' });
    courseId = (await publishedCourseOverHttp(p.course.call, instructor.token)).id;
  });
  afterAll(async () => {
    await p?.close();
  });

  function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      iss: p.auth.config.jwt.issuer,
      aud: p.auth.config.jwt.audience,
      sub: instructor.id,
      role: 'instructor',
      name: instructor.displayName,
      emailVerified: true,
      sid: newId(),
      iat: now(),
      exp: now() + 300,
      jti: newId(),
      ...over,
    };
  }

  function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: KeyObject = p.auth.keys.active.privateKey) {
    return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: p.auth.keys.active.kid, ...header } as never).sign(key);
  }

  async function createWith(token: string) {
    return p.course.call('POST', '/api/v1/courses', { token, body: newCourseInput() });
  }

  async function expectRefused(token: string, code = 'invalid_token') {
    const res = await createWith(token);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe(code);
    expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
    // A public route refuses a bad token as well, rather than answering as to an anonymous caller.
    const read = await p.course.call('GET', `/api/v1/courses/${courseId}`, { token });
    expect(read.status).toBe(401);
  }

  it('accepts a login token from auth-service and a control token signed by hand with its active key', async () => {
    expect((await createWith(instructor.token)).status).toBe(201);
    expect((await createWith(await sign(claims()))).status).toBe(201);
  });

  it('refuses an expired token with 401 token_expired', async () => {
    await expectRefused(await sign(claims({ iat: now() - 1000, exp: now() - 60 })), 'token_expired');
  });

  it('refuses a token changed after signing (student raised to admin)', async () => {
    const student = await p.user({ role: 'student' });
    const [header, payload, signature] = student.token.split('.') as [string, string, string];
    const raised = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' };
    await expectRefused(`${header}.${b64(raised)}.${signature}`);
  });

  it('refuses a token for another audience or from another issuer, even signed by the real key', async () => {
    const options = { subject: instructor.id, issuer: p.auth.config.jwt.issuer, audience: 'another-api', ttlSec: 300, jti: newId() };
    const extra = { role: 'instructor', name: 'Mallory', emailVerified: true, sid: newId() };
    await expectRefused(await p.auth.keys.sign(extra, options));
    await expectRefused(await p.auth.keys.sign(extra, { ...options, audience: p.auth.config.jwt.audience, issuer: 'someone-else' }));
  });

  it('refuses alg "none", a foreign key under the real kid, an unknown kid, and a malformed header', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'at+jwt', kid: p.auth.keys.active.kid })}.${b64(claims())}.`;
    await expectRefused(unsigned);
    const { privateKey: foreign } = generateKeyPairSync('ed25519');
    await expectRefused(await sign(claims(), {}, foreign));
    await expectRefused(await sign(claims(), { kid: 'no-such-key' }, foreign));
    await expectRefused(await sign(claims({ exp: undefined })));

    const basic = await p.course.call('POST', '/api/v1/courses', { headers: { authorization: 'Basic dXNlcjpwYXNz' }, body: newCourseInput() });
    expect(basic.status).toBe(401);
  });

  it('picks up a key added to the JWKS without a restart (refetch on an unknown kid)', async () => {
    // A JWKS the test controls, standing in for auth-service during a key rotation.
    const makeKey = async (kid: string) => {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
      return { kid, privateKey, jwk };
    };
    const k1 = await makeKey(`k1-${newId().slice(-6)}`);
    const k2 = await makeKey(`k2-${newId().slice(-6)}`);
    let published: JWK[] = [k1.jwk];
    let fetches = 0;
    const jwks: Server = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;

    let c: CourseHarness | undefined;
    try {
      c = await startCourse({ jwksUrl: url, database: p.course.database, overrides: { auth: { jwksCooldownMs: 0 } } });
      const tokenFrom = (key: { kid: string; privateKey: KeyObject }) => sign(claims({ iss: c!.config.auth.issuer, aud: c!.config.auth.audience }), { kid: key.kid }, key.privateKey);
      const create = (token: string) => c!.call('POST', '/api/v1/courses', { token, body: newCourseInput() });

      expect((await create(await tokenFrom(k1))).status).toBe(201);
      expect(fetches).toBe(1);
      // The key set is cached: more tokens of a known kid cost no fetch.
      expect((await create(await tokenFrom(k1))).status).toBe(201);
      expect(fetches).toBe(1);

      // A token of a key not yet published is refused...
      const early = await create(await tokenFrom(k2));
      expect(early.status).toBe(401);
      // ...and accepted once the JWKS carries the new key, by the same running app.
      published = [k1.jwk, k2.jwk];
      const rotated = await create(await tokenFrom(k2));
      expect(rotated.status).toBe(201);
      expect((await create(await tokenFrom(k1))).status).toBe(201);
      expect(fetches).toBeGreaterThanOrEqual(3);
    } finally {
      await c?.close();
      await new Promise<void>((resolve) => jwks.close(() => resolve()));
    }
  });
});
