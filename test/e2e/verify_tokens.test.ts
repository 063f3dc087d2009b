/**
 * How another service verifies our access tokens: EdDSA (Ed25519) signatures, the keys as OKP JWKs at
 * `/.well-known/jwks.json`. The README's examples ("Verifying our tokens in another service") are the
 * code below, run against auth-service listening on a real port. The libraries that cannot verify
 * EdDSA are shown failing, so the README's list of what works stays true when they change.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import buildGetJwks from 'get-jwks';
import { createRemoteJWKSet, decodeProtectedHeader, errors as joseErrors, jwtVerify } from 'jose';
import jsonwebtoken from 'jsonwebtoken';
import jwksClient from 'jwks-rsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuth, type AuthHarness } from '../helpers/auth_app.js';
import { hasPostgres } from '../helpers/services.js';

const ISSUER = 'course-platform-auth';
const AUDIENCE = 'course-platform';

/** The same token with the first character of its signature changed (the last may be only padding bits). */
function tampered(token: string): string {
  const at = token.lastIndexOf('.') + 1;
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

describe.skipIf(!hasPostgres)('verifying our access tokens in another service', () => {
  let h: AuthHarness;
  let jwksUrl: string;
  let user: { id: string };
  let accessToken: string;

  beforeAll(async () => {
    h = await startAuth();
    const authUrl = await h.app.listen({ port: 0, host: '127.0.0.1' });
    jwksUrl = `${authUrl}/.well-known/jwks.json`;
    const created = await h.newUser({ role: 'instructor' });
    user = created;
    accessToken = (await h.login(created.email, created.password)).accessToken;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('jose: createRemoteJWKSet + jwtVerify', async () => {
    const JWKS = createRemoteJWKSet(new URL(jwksUrl));
    const { payload, protectedHeader } = await jwtVerify(accessToken, JWKS, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'] });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload).toMatchObject({ sub: user.id, role: 'instructor', iss: ISSUER, aud: AUDIENCE });

    await expect(jwtVerify(tampered(accessToken), JWKS, { issuer: ISSUER, audience: AUDIENCE })).rejects.toBeInstanceOf(joseErrors.JWSSignatureVerificationFailed);
    await expect(jwtVerify(accessToken, JWKS, { issuer: ISSUER, audience: 'someone-else' })).rejects.toBeInstanceOf(joseErrors.JWTClaimValidationFailed);
  });

  describe('@fastify/jwt with jwks-rsa', () => {
    let api: FastifyInstance;
    beforeAll(async () => {
      const jwks = jwksClient({ jwksUri: jwksUrl, cache: true, rateLimit: true });
      api = Fastify();
      await api.register(fastifyJwt, {
        decode: { complete: true },
        // jwks-rsa turns the OKP key into SPKI PEM, which fast-jwt (under @fastify/jwt) verifies as EdDSA.
        secret: async (_request: FastifyRequest, token: unknown) => {
          const { header } = token as { header: { kid?: string } };
          return (await jwks.getSigningKey(header.kid)).getPublicKey();
        },
        verify: { algorithms: ['EdDSA'], allowedIss: ISSUER, allowedAud: AUDIENCE },
      });
      api.get('/whoami', { onRequest: async (request) => { await request.jwtVerify(); } }, async (request) => request.user);
      await api.ready();
    });
    afterAll(async () => {
      await api?.close();
    });

    it('accepts our token and refuses a forged one', async () => {
      const ok = await api.inject({ url: '/whoami', headers: { authorization: `Bearer ${accessToken}` } });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ sub: user.id, role: 'instructor' });

      const forged = await api.inject({ url: '/whoami', headers: { authorization: `Bearer ${tampered(accessToken)}` } });
      expect(forged.statusCode).toBe(401);
      const none = await api.inject({ url: '/whoami' });
      expect(none.statusCode).toBe(401);
    });
  });

  it('get-jwks cannot: its JWK-to-PEM step (jwk-to-pem) knows RSA and EC keys, not OKP', async () => {
    const { kid } = decodeProtectedHeader(accessToken);
    const getJwks = buildGetJwks();
    await expect(getJwks.getPublicKey({ domain: jwksUrl.replace('/.well-known/jwks.json', ''), kid, alg: 'EdDSA' })).rejects.toThrow(
      /Unsupported key type "OKP"/,
    );
  });

  it('jsonwebtoken cannot: it has no EdDSA, even when it is given the right public key', async () => {
    const { kid } = decodeProtectedHeader(accessToken);
    const { keys } = (await (await fetch(jwksUrl)).json()) as { keys: (JsonWebKey & { kid: string })[] };
    const publicKey = createPublicKey({ key: keys.find((k) => k.kid === kid)!, format: 'jwk' });
    expect(() => jsonwebtoken.verify(accessToken, publicKey)).toThrow(/invalid algorithm/);
    expect(() => jsonwebtoken.verify(accessToken, publicKey, { algorithms: ['EdDSA' as jsonwebtoken.Algorithm] })).toThrow(
      /Unknown key type "ed25519"/,
    );
  });
});
