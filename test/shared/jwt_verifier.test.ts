/**
 * TokenVerifier remembers tokens it verified (by their exact text, until exp): the second request with
 * a token costs no signature check, while a tampered or expired token is still refused and a failure is
 * never remembered. Pure unit: keys made here, no service.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type JWTVerifyGetKey } from 'jose';
import { TokenVerifier } from '../../internal/shared/utils/jwt.js';
import { HttpError } from '../../internal/shared/utils/errors.js';

const ISSUER = 'https://auth.test';
const AUDIENCE = 'courses';

async function setup(options: { verifiedCacheSize?: number; clockToleranceSec?: number } = {}) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
  const local = createLocalJWKSet({ keys: [jwk] });
  let keyLookups = 0;
  const keys: JWTVerifyGetKey = (header, token) => {
    keyLookups++;
    return local(header, token);
  };
  const verifier = new TokenVerifier(keys, { issuer: ISSUER, audience: AUDIENCE, ...options });
  const sign = (sub: string, expiresInSec = 600) =>
    new SignJWT({ role: 'student', name: 'Ann', emailVerified: true, sid: 's1', amr: ['pwd'] })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(sub)
      .setJti(`jti-${sub}`)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresInSec)
      .sign(privateKey);
  return { verifier, sign, lookups: () => keyLookups };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  return (err as HttpError).code;
}

describe('TokenVerifier: verified tokens remembered', () => {
  afterEach(() => vi.useRealTimers());

  it('verifies a token once, then answers it from memory with the same principal', async () => {
    const { verifier, sign, lookups } = await setup();
    const token = await sign('user-1');
    const first = await verifier.verify(token);
    const second = await verifier.verify(token);
    expect(second).toEqual(first);
    expect(first).toMatchObject({ sub: 'user-1', role: 'student', sid: 's1', amr: ['pwd'] });
    expect(lookups()).toBe(1);
    // A caller changing its copy changes nothing for the next request.
    second.role = 'admin';
    second.amr!.push('mfa');
    expect(await verifier.verify(token)).toEqual(first);
  });

  it('still refuses a tampered token after the genuine one was remembered, and never remembers a failure', async () => {
    const { verifier, sign, lookups } = await setup();
    const token = await sign('user-2');
    await verifier.verify(token);
    const [header, payload, signature] = token.split('.');
    const flipped = signature!.slice(0, -2) + (signature!.endsWith('AA') ? 'BB' : 'AA');
    expect(await refusal(verifier.verify(`${header}.${payload}.${flipped}`))).toBe('invalid_token');
    expect(await refusal(verifier.verify(`${header}.${payload}.${flipped}`))).toBe('invalid_token');
    expect(lookups()).toBe(3);
  });

  it('stops accepting a remembered token when it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verifier, sign } = await setup({ clockToleranceSec: 0 });
    const token = await sign('user-3', 30);
    await verifier.verify(token);
    vi.setSystemTime(Date.now() + 29_000);
    expect((await verifier.verify(token)).sub).toBe('user-3');
    vi.setSystemTime(Date.now() + 2_000);
    expect(await refusal(verifier.verify(token))).toBe('token_expired');
  });

  it('keeps at most verifiedCacheSize tokens (oldest forgotten first); 0 verifies every time', async () => {
    const small = await setup({ verifiedCacheSize: 2 });
    const [a, b, c] = await Promise.all([small.sign('a'), small.sign('b'), small.sign('c')]);
    for (const t of [a, b, c]) await small.verifier.verify(t);
    expect(small.lookups()).toBe(3);
    await small.verifier.verify(c);
    expect(small.lookups()).toBe(3);
    await small.verifier.verify(a);
    expect(small.lookups()).toBe(4);

    const none = await setup({ verifiedCacheSize: 0 });
    const t = await none.sign('n');
    await none.verifier.verify(t);
    await none.verifier.verify(t);
    expect(none.lookups()).toBe(2);
  });
});
