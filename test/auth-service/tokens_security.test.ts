/**
 * Access-token verification (internal/shared/utils/jwt.ts): EdDSA only, `typ: at+jwt`, the configured
 * issuer and audience, `exp`/`iat`/`sub`/`jti` required, `nbf` honoured, keys from the JWKS by `kid`.
 * Every forged token below is refused with 401; a control token built the same way is accepted, so a
 * refusal is the verifier's doing and not a broken test token.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPostgres } from '../helpers/services.js';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { newId } from '../../internal/shared/utils/ids.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

describe.skipIf(!hasPostgres)('access-token security', () => {
  let h: AuthHarness;
  let user: { id: string; email: string; password: string };
  let login: { accessToken: string; refreshToken: string };
  let sid: string;

  beforeAll(async () => {
    h = await startAuth();
    user = await h.newUser();
    login = await h.login(user.email, user.password);
    sid = login.refreshToken.split('.')[0]!;
  });
  afterAll(async () => {
    await h?.close();
  });

  function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      iss: h.config.jwt.issuer,
      aud: h.config.jwt.audience,
      sub: user.id,
      role: 'student',
      name: 'User',
      emailVerified: true,
      sid,
      iat: now(),
      exp: now() + 300,
      jti: newId(),
      ...over,
    };
  }

  function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}, key: KeyObject = h.keys.active.privateKey): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: h.keys.active.kid, ...header } as never).sign(key);
  }

  async function me(token: string) {
    return h.call('GET', '/api/v1/users/me', { token });
  }

  async function expectRefused(token: string, code = 'invalid_token') {
    const res = await me(token);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe(code);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  }

  it('accepts the control token built by hand with the active key', async () => {
    const res = await me(await sign(claims()));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(user.id);
  });

  it('refuses an expired token with token_expired', async () => {
    await expectRefused(await sign(claims({ iat: now() - 1000, exp: now() - 60 })), 'token_expired');
  });

  it('refuses a token whose payload was changed after signing (role raised to admin)', async () => {
    const [header, payload, signature] = login.accessToken.split('.') as [string, string, string];
    const raised = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' };
    const tampered = `${header}.${b64(raised)}.${signature}`;
    await expectRefused(tampered);
    const admin = await h.call('GET', '/api/v1/admin/users', { token: tampered });
    expect(admin.status).toBe(401);
    // The untouched token still works.
    expect((await me(login.accessToken)).status).toBe(200);
  });

  it('refuses a token with a flipped signature byte', async () => {
    const [header, payload, signature] = login.accessToken.split('.') as [string, string, string];
    const sig = Buffer.from(signature, 'base64url');
    sig[0] = sig[0]! ^ 0xff;
    await expectRefused(`${header}.${payload}.${sig.toString('base64url')}`);
  });

  it('refuses alg "none" (unsigned) tokens, however spelled', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      const token = `${b64({ alg, typ: 'at+jwt', kid: h.keys.active.kid })}.${b64(claims({ role: 'admin' }))}.`;
      await expectRefused(token);
    }
  });

  it('refuses HS256 signed with the public key as the HMAC secret (algorithm confusion)', async () => {
    const jwk = h.keys.active.publicJwk;
    const secrets = [
      Buffer.from(jwk.x!, 'base64url'),
      Buffer.from(JSON.stringify(jwk)),
      Buffer.from(h.keys.active.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().replace('PRIVATE', 'PUBLIC')),
    ];
    for (const secret of secrets) {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: h.keys.active.kid }).sign(secret);
      await expectRefused(token);
    }
  });

  it('refuses another asymmetric algorithm even with a known kid', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await expectRefused(await sign(claims(), { alg: 'ES256' }, privateKey));
  });

  it('refuses a wrong audience and a wrong issuer', async () => {
    await expectRefused(await sign(claims({ aud: 'some-other-api' })));
    await expectRefused(await sign(claims({ aud: ['some-other-api'] })));
    await expectRefused(await sign(claims({ iss: 'https://evil.example' })));
  });

  it('refuses an unknown kid and a foreign key that claims the active kid', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    await expectRefused(await sign(claims(), { kid: 'no-such-key' }, privateKey));
    await expectRefused(await sign(claims(), { kid: 'no-such-key' }));
    await expectRefused(await sign(claims(), {}, privateKey));
  });

  it('honours nbf: a token not valid yet is refused, one valid since a minute ago works', async () => {
    await expectRefused(await sign(claims({ nbf: now() + 120 })));
    expect((await me(await sign(claims({ nbf: now() - 60 })))).status).toBe(200);
  });

  it('requires typ at+jwt, so an ID token or another JWT type cannot be used as an access token', async () => {
    await expectRefused(await sign(claims(), { typ: 'JWT' }));
    await expectRefused(await sign(claims(), { typ: undefined }));
  });

  it('requires exp, iat, sub and jti, and a known role', async () => {
    for (const missing of ['exp', 'iat', 'sub', 'jti']) {
      const c = claims();
      delete c[missing];
      await expectRefused(await sign(c));
    }
    await expectRefused(await sign(claims({ role: 'superuser' })));
  });

  it("refuses a genuine token whose session belongs to someone else or has ended", async () => {
    const other = await h.newUser();
    const otherLogin = await h.login(other.email, other.password);
    const otherSid = otherLogin.refreshToken.split('.')[0];
    const res = await me(await sign(claims({ sid: otherSid })));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('session_revoked');
  });

  it('refuses malformed Authorization headers and asks anonymous callers to sign in', async () => {
    for (const authorization of ['Bearer', 'Bearer a b', 'Basic dXNlcjpwYXNz', `Bearer ${login.accessToken} extra`]) {
      const res = await h.call('GET', '/api/v1/users/me', { headers: { authorization } });
      expect(res.status, authorization).toBe(401);
      expect(res.headers['www-authenticate'], authorization).toMatch(/^Bearer/);
    }
    const anon = await h.call('GET', '/api/v1/users/me');
    expect(anon.status).toBe(401);
    expect(anon.body.code).toBe('unauthorized');
  });

  it('publishes the active public key (and no private part) at /.well-known/jwks.json', async () => {
    const res = await h.call<JSONWebKeySet>('GET', '/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toMatch(/max-age=\d+/);
    const key = res.body.keys.find((k) => k.kid === h.keys.active.kid);
    expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    for (const k of res.body.keys) expect(k).not.toHaveProperty('d');
    expect(decodeProtectedHeader(login.accessToken).kid).toBe(h.keys.active.kid);

    // What course-service does: verify a login token against the served JWKS, pinned to EdDSA.
    const { payload } = await jwtVerify(login.accessToken, createLocalJWKSet(res.body), {
      algorithms: ['EdDSA'],
      issuer: h.config.jwt.issuer,
      audience: h.config.jwt.audience,
    });
    expect(payload.sub).toBe(user.id);
  });
});

describe.skipIf(!hasPostgres)('key rotation: two keys in the directory', () => {
  const pem = () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  let varDir: string;
  let h: AuthHarness;

  beforeAll(async () => {
    varDir = mkdtempSync(join(tmpdir(), 'auth-rotation-'));
    const keysDir = join(varDir, 'auth-service', 'keys');
    mkdirSync(keysDir, { recursive: true });
    writeFileSync(join(keysDir, '2024-01-01-old.pem'), pem());
    writeFileSync(join(keysDir, '2025-01-01-new.pem'), pem());
    h = await startAuth({ varDir });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('publishes both keys, signs with the newest, and accepts tokens of the older one', async () => {
    const jwks = await h.call<JSONWebKeySet>('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys).toHaveLength(2);
    const [oldKey, newKey] = h.keys.keys;
    expect(h.keys.active.kid).toBe(newKey!.kid);
    expect(jwks.body.keys.map((k) => k.kid).sort()).toEqual([oldKey!.kid, newKey!.kid].sort());

    const u = await h.newUser();
    const pair = await h.login(u.email, u.password);
    expect(decodeProtectedHeader(pair.accessToken).kid).toBe(newKey!.kid);

    const sid = pair.refreshToken.split('.')[0];
    // A token of this session that names the old key's kid, signed with `key`.
    const withOldKid = (key: KeyObject) =>
      new SignJWT({ role: 'student', name: 'User', emailVerified: true, sid })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: oldKey!.kid })
        .setSubject(u.id)
        .setIssuer(h.config.jwt.issuer)
        .setAudience(h.config.jwt.audience)
        .setIssuedAt()
        .setExpirationTime('5m')
        .setJti(newId())
        .sign(key);
    const fromOld = await withOldKid(oldKey!.privateKey);
    const res = await h.call('GET', '/api/v1/users/me', { token: fromOld });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(u.id);

    // The old key's kid with the new key's signature is still a forgery.
    const mixed = await withOldKid(newKey!.privateKey);
    expect((await h.call('GET', '/api/v1/users/me', { token: mixed })).status).toBe(401);
  });

  it('jwt.activeKid picks the signing key, and tokens of either key keep working', async () => {
    const oldKid = h.keys.keys[0]!.kid;
    const pinned = await startAuth({ varDir, jwt: { activeKid: oldKid } }, { database: h.database, smtp: h.smtp });
    try {
      const u = await pinned.newUser();
      const pair = await pinned.login(u.email, u.password);
      expect(decodeProtectedHeader(pair.accessToken).kid).toBe(oldKid);
      // The other replica (signing with the new key) accepts it: both keys are published by both.
      expect((await h.call('GET', '/api/v1/users/me', { token: pair.accessToken })).status).toBe(200);
    } finally {
      await pinned.close();
    }
  });
});
