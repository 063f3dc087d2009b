/**
 * Standards checklist: RFC 8725 (JSON Web Token Best Current Practices) for access tokens, on BOTH
 * verifiers: auth-service's own (its local key set, plus the session check) and course-service's (the
 * JWKS fetched over HTTP from the running auth-service). Each item is one test per service.
 *
 * Every forged token differs from an accepted control token in one thing only, and the control is
 * signed with auth-service's real active key, so a refusal is the verifier's doing. Tokens that name
 * URLs (a `kid`, `jku`, `x5u`) point at a local canary server, which must never be asked for anything.
 */
import { createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import type { CallResult } from '../helpers/auth_app.js';
import { startCourse, startPlatform, type CourseHarness, type Platform } from '../helpers/course_app.js';
import { newCourseInput } from '../course-service/factories.js';
import { newId } from '../../internal/shared/utils/ids.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** A server that answers every request with `body` and records what it was asked. */
async function recorder(body: () => Promise<string> | string): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    void Promise.resolve(body()).then((text) => res.writeHead(200, { 'content-type': 'application/json' }).end(text));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Service = 'auth-service' | 'course-service';

describe.skipIf(!hasPostgres)('RFC 8725 JWT best current practices', () => {
  let p: Platform;
  let user: { id: string; displayName: string };
  let sid: string;
  /** Canary: serves a JWKS holding the attacker's key, and must never be asked. */
  let canary: Awaited<ReturnType<typeof recorder>>;
  const attacker = generateKeyPairSync('ed25519');
  let attackerJwk: Record<string, unknown>;

  beforeAll(async () => {
    p = await startPlatform();
    const u = await p.auth.newUser({ role: 'instructor' });
    const login = await p.auth.login(u.email, u.password);
    user = { id: u.id, displayName: u.displayName };
    sid = login.refreshToken.split('.')[0]!;
    attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'attacker-key', alg: 'EdDSA', use: 'sig' };
    canary = await recorder(() => JSON.stringify({ keys: [attackerJwk] }));
  });
  afterAll(async () => {
    await canary?.close();
    await p?.close();
  });

  function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
    const c: Record<string, unknown> = {
      iss: p.auth.config.jwt.issuer,
      aud: p.auth.config.jwt.audience,
      sub: user.id,
      role: 'instructor',
      name: user.displayName,
      emailVerified: true,
      sid,
      iat: now(),
      exp: now() + 300,
      jti: newId(),
      ...over,
    };
    for (const [k, v] of Object.entries(c)) if (v === undefined) delete c[k];
    return c;
  }

  function header(over: Record<string, unknown> = {}): Record<string, unknown> {
    const h: Record<string, unknown> = { alg: 'EdDSA', typ: 'at+jwt', kid: p.auth.keys.active.kid, ...over };
    for (const [k, v] of Object.entries(h)) if (v === undefined) delete h[k];
    return h;
  }

  /** Builds a JWS by hand (jose refuses to sign some of these), signed with an Ed25519 key. */
  function forge(head: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject = p.auth.keys.active.privateKey): string {
    const input = `${b64(head)}.${b64(payload)}`;
    return `${input}.${edSign(null, Buffer.from(input), key).toString('base64url')}`;
  }

  function send(service: Service, token: string): Promise<CallResult> {
    return service === 'auth-service'
      ? p.auth.call('GET', '/api/v1/users/me', { token })
      : p.course.call('POST', '/api/v1/courses', { token, body: newCourseInput() });
  }

  async function expectRefused(service: Service, token: string, code = 'invalid_token'): Promise<void> {
    const res = await send(service, token);
    expect(res.status, `${service}: ${token.slice(0, 80)}`).toBe(401);
    expect(res.body.code).toBe(code);
    expect(String(res.headers['www-authenticate'])).toMatch(/^Bearer/);
  }

  describe.each(['auth-service', 'course-service'] as const)('%s', (service) => {
    it('control: a token with the right claims, signed with the active key, is accepted (hand-built and from jose)', async () => {
      expect((await send(service, forge(header(), claims()))).status).toBeLessThan(300);
      const viaJose = await new SignJWT(claims()).setProtectedHeader(header() as never).sign(p.auth.keys.active.privateKey);
      expect((await send(service, viaJose)).status).toBeLessThan(300);
    });

    it('§2.1/§3.1: alg "none" is refused, however spelled and with or without a signature part', async () => {
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        await expectRefused(service, `${b64(header({ alg }))}.${b64(claims({ role: 'admin' }))}.`);
        await expectRefused(service, `${b64(header({ alg }))}.${b64(claims())}.${Buffer.from('x').toString('base64url')}`);
      }
    });

    it('§2.1/§3.1 algorithm confusion: HS256/HS512 keyed with the Ed25519 public key (raw bytes, JWK x, JWK JSON, SPKI PEM/DER) is refused', async () => {
      const jwk = p.auth.keys.active.publicJwk;
      const publicKey = createPublicKey(p.auth.keys.active.privateKey);
      const secrets: Uint8Array[] = [
        Buffer.from(jwk.x!, 'base64url'),
        Buffer.from(jwk.x!),
        Buffer.from(JSON.stringify(jwk)),
        Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
        publicKey.export({ type: 'spki', format: 'der' }),
      ];
      for (const secret of secrets) {
        for (const alg of ['HS256', 'HS512']) {
          await expectRefused(service, await new SignJWT(claims()).setProtectedHeader(header({ alg }) as never).sign(secret));
        }
      }
    });

    it('§3.2: another asymmetric algorithm (ES256, RS256, PS256) under the real kid is refused', async () => {
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      await expectRefused(service, await new SignJWT(claims()).setProtectedHeader(header({ alg: 'ES256' }) as never).sign(ec));
      await expectRefused(service, await new SignJWT(claims()).setProtectedHeader(header({ alg: 'RS256' }) as never).sign(rsa));
      await expectRefused(service, await new SignJWT(claims()).setProtectedHeader(header({ alg: 'PS256' }) as never).sign(rsa));
    });

    it('§3.8: a wrong or missing issuer is refused, even signed with the real key', async () => {
      await expectRefused(service, forge(header(), claims({ iss: 'https://evil.example' })));
      await expectRefused(service, forge(header(), claims({ iss: `${p.auth.config.jwt.issuer} ` })));
      await expectRefused(service, forge(header(), claims({ iss: undefined })));
    });

    it('§3.9: a wrong or missing audience is refused, even signed with the real key', async () => {
      await expectRefused(service, forge(header(), claims({ aud: 'another-api' })));
      await expectRefused(service, forge(header(), claims({ aud: ['another-api', 'yet-another'] })));
      await expectRefused(service, forge(header(), claims({ aud: undefined })));
    });

    it('RFC 7519 §4.1.4 exp: an expired token is 401 token_expired, and one without exp is refused', async () => {
      await expectRefused(service, forge(header(), claims({ iat: now() - 3600, exp: now() - 60 })), 'token_expired');
      await expectRefused(service, forge(header(), claims({ exp: undefined })));
      await expectRefused(service, forge(header(), claims({ exp: String(now() + 300) })));
    });

    it('RFC 7519 §4.1.5 nbf: a token not valid yet is refused; one valid since a minute ago is accepted', async () => {
      await expectRefused(service, forge(header(), claims({ nbf: now() + 120 })));
      await expectRefused(service, forge(header(), claims({ nbf: now() + 365 * 24 * 3600 })));
      expect((await send(service, forge(header(), claims({ nbf: now() - 60 })))).status).toBeLessThan(300);
    });

    it('§3.1/§3.3 kid: an unknown kid, a foreign key under the real kid, and a foreign key without kid are refused', async () => {
      await expectRefused(service, forge(header({ kid: 'no-such-key' }), claims()));
      await expectRefused(service, forge(header({ kid: 'no-such-key' }), claims(), attacker.privateKey));
      await expectRefused(service, forge(header(), claims(), attacker.privateKey));
      await expectRefused(service, forge(header({ kid: undefined }), claims(), attacker.privateKey));
    });

    it('§2.9/§3.10 injected kid (path traversal, SQL, a URL, header injection, 10 kB) is refused and nothing is fetched from it', async () => {
      const before = canary.hits.length;
      const kids: unknown[] = [
        '../../../../etc/passwd',
        '/dev/null',
        "' OR 1=1 --",
        "x'; DROP TABLE users; --",
        `${canary.url}/kid.json`,
        `${canary.url}/.well-known/jwks.json`,
        'file:///etc/passwd',
        'attacker-key\r\nX-Injected: 1',
        'k'.repeat(10_000),
        { $ne: null },
        ['attacker-key'],
        42,
      ];
      for (const kid of kids) {
        await expectRefused(service, forge(header({ kid }), claims(), attacker.privateKey));
        await expectRefused(service, forge(header({ kid }), claims({ role: 'admin' })));
      }
      expect(canary.hits.slice(before)).toEqual([]);
      const { rows } = await p.auth.database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
      expect(rows[0]!.n).toBeGreaterThan(0);
    });

    it('§2.8/§3.11 explicit typing: typ other than at+jwt (JWT, id_token+jwt, none, missing) is refused', async () => {
      for (const typ of ['JWT', 'jwt', 'id_token+jwt', 'application/jwt', 'secevent+jwt', 'none', undefined]) {
        await expectRefused(service, forge(header({ typ }), claims()));
      }
      // Media-type spelling of the same type (RFC 7515 §4.1.9): also accepted, as jose compares normalised.
      expect((await send(service, forge(header({ typ: 'application/at+jwt' }), claims()))).status).toBeLessThan(300);
    });

    it('§2.9/§3.10 jku, x5u, jwk and x5c headers are ignored: a token signed with the key they name or embed is refused, and they are never fetched', async () => {
      const before = canary.hits.length;
      const pointers = [
        { jku: `${canary.url}/jwks.json`, kid: 'attacker-key' },
        { x5u: `${canary.url}/cert.pem`, kid: 'attacker-key' },
        { jwk: attackerJwk, kid: 'attacker-key' },
        { jwk: attackerJwk, kid: undefined },
        { x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'], kid: undefined },
        { jku: `${canary.url}/jwks.json`, x5u: `${canary.url}/cert.pem`, jwk: attackerJwk },
      ];
      for (const extra of pointers) await expectRefused(service, forge(header(extra), claims({ role: 'admin' }), attacker.privateKey));
      expect(canary.hits.slice(before)).toEqual([]);
    });

    it('RFC 7515 §4.1.11: a crit header naming an extension the verifier does not know is refused, even with the real key', async () => {
      await expectRefused(service, forge(header({ crit: ['x-policy'], 'x-policy': 'allow-all' }), claims()));
      await expectRefused(service, forge(header({ crit: ['b64'], b64: false }), claims()));
    });
  });

  describe('course-service JWKS fetching', () => {
    let c: CourseHarness;
    let jwks: Awaited<ReturnType<typeof recorder>>;

    beforeAll(async () => {
      // In front of the real auth-service JWKS: records every fetch course-service makes.
      jwks = await recorder(async () => (await fetch(p.jwksUrl)).text());
      c = await startCourse({
        jwksUrl: `${jwks.url}/.well-known/jwks.json`,
        database: p.course.database,
        overrides: { auth: { jwksCooldownMs: 30_000 } },
      });
    });
    afterAll(async () => {
      await c?.close();
      await jwks?.close();
    });

    it('§2.9: unknown and injected kids cost at most one JWKS refetch per cooldown, always from the configured URL and nowhere else', async () => {
      const create = (token: string) => c.call('POST', '/api/v1/courses', { token, body: newCourseInput() });
      expect((await create(forge(header(), claims()))).status).toBe(201);
      expect(jwks.hits).toEqual(['GET /.well-known/jwks.json']);
      const canaryBefore = canary.hits.length;
      for (let i = 0; i < 10; i++) {
        for (const kid of [`unknown-${newId()}`, `${canary.url}/${i}`, `../../${i}`]) {
          const res = await create(forge(header({ kid, jku: `${canary.url}/jwks.json` }), claims(), attacker.privateKey));
          expect(res.status).toBe(401);
        }
      }
      // The flood fell within the cooldown: the first unknown kid may refetch once; no more.
      expect(jwks.hits.length).toBeLessThanOrEqual(2);
      expect(new Set(jwks.hits)).toEqual(new Set(['GET /.well-known/jwks.json']));
      expect(canary.hits.slice(canaryBefore)).toEqual([]);
      // And the known key still works from the cache.
      expect((await create(forge(header(), claims()))).status).toBe(201);
    });
  });
});
