/**
 * Access-token verification, shared by both services. Tokens are signed by auth-service with an
 * asymmetric key (EdDSA) and carry `kid`; verifiers hold only public keys from the JWKS. Following
 * RFC 8725: one accepted algorithm, required issuer and audience, `exp` required, a little clock skew.
 */
import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTVerifyGetKey, type JWTPayload } from 'jose';
import { HttpError } from './errors.js';

export const ACCESS_TOKEN_ALG = 'EdDSA';
export type Role = 'student' | 'instructor' | 'admin' | 'service';
export const USER_ROLES = ['student', 'instructor', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];
/** Authenticator assurance level (NIST SP 800-63B): one factor, or two. */
export type Aal = 'aal1' | 'aal2';

/** Who is calling, as the access token says. */
export interface Principal {
  /** User id, or `client:<id>` for a service. */
  sub: string;
  role: Role;
  name: string;
  emailVerified: boolean;
  /** Session id (absent for service tokens). */
  sid: string | undefined;
  jti: string;
  exp: number;
  /** When the token was issued (seconds since the epoch): course-service refuses tokens of an account revoked after it. */
  iat?: number;
  /** When the holder last authenticated (seconds since the epoch); absent on service tokens and old tokens. */
  authTime?: number;
  /** Assurance of that authentication; `aal1` when the token does not say. */
  aal?: Aal;
  /** Authentication methods (RFC 8176), e.g. `['pwd']`, `['pwd', 'otp', 'mfa']`. */
  amr?: string[];
}

export interface AccessClaims extends JWTPayload {
  role: Role;
  name: string;
  emailVerified: boolean;
  sid?: string;
  auth_time?: number;
  aal?: Aal;
  amr?: string[];
}

export interface VerifierOptions {
  issuer: string;
  audience: string;
  clockToleranceSec?: number;
  /** How many verified tokens to remember (see TokenVerifier); 0 verifies every time. Default 10,000. */
  verifiedCacheSize?: number;
}

/**
 * Verifies access tokens. A signature check (EdDSA through WebCrypto) costs ~0.3 ms of CPU, the largest
 * single cost of an authenticated write (bench/README.md, "Learning"), and a client sends the same
 * token with every request for its lifetime. So a token that verified is remembered, by its exact text
 * (header, payload and signature: any other string, a tampered one included, is verified in full), until
 * its `exp` plus the clock tolerance, the same instant jose would start refusing it; at most
 * `verifiedCacheSize` of them, the oldest forgotten first. Failures are never remembered. What a cached
 * token does not skip: everything after verification (course-service's revocation check, role checks).
 * What it does: a key withdrawn from the JWKS stops being trusted for new tokens at once, and for tokens
 * already verified with it at their expiry (at most the access-token lifetime; jose keeps the JWKS for
 * minutes anyway).
 */
/** Seconds of clock skew allowed on `exp`/`nbf` when no `clockToleranceSec` is given. */
const DEFAULT_CLOCK_TOLERANCE_SEC = 5;

/** A copy a caller may change without touching the remembered principal (its `amr` array included). */
function copyPrincipal(principal: Principal): Principal {
  return { ...principal, amr: principal.amr ? [...principal.amr] : principal.amr };
}

export class TokenVerifier {
  private readonly verified = new Map<string, Principal>();
  private readonly cacheSize: number;
  private readonly clockToleranceSec: number;

  constructor(
    private readonly keys: JWTVerifyGetKey,
    private readonly options: VerifierOptions,
  ) {
    this.cacheSize = options.verifiedCacheSize ?? 10_000;
    this.clockToleranceSec = options.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  }

  /** Verifies a bearer token; any failure is the same 401 `invalid_token` (the reason is logged, not sent). */
  async verify(token: string): Promise<Principal> {
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (Date.now() / 1000 < known.exp + this.clockToleranceSec) return copyPrincipal(known);
      this.verified.delete(token);
    }
    const principal = await this.verifyFully(token);
    if (this.cacheSize > 0) {
      if (this.verified.size >= this.cacheSize) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, copyPrincipal(principal));
    }
    return principal;
  }

  private async verifyFully(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: [ACCESS_TOKEN_ALG],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.clockToleranceSec,
        requiredClaims: ['exp', 'iat', 'sub', 'jti'],
        typ: 'at+jwt',
      }));
    } catch (err) {
      const expired = err instanceof joseErrors.JWTExpired;
      throw new HttpError(401, expired ? 'token_expired' : 'invalid_token', {
        detail: expired ? 'The access token has expired' : 'The access token is not valid',
        cause: err,
        headers: { 'www-authenticate': `Bearer error="invalid_token"` },
      });
    }
    const p = payload as AccessClaims;
    const roles: Role[] = ['student', 'instructor', 'admin', 'service'];
    if (!roles.includes(p.role) || typeof p.sub !== 'string') {
      throw new HttpError(401, 'invalid_token', {
        detail: 'The access token is not valid',
        headers: { 'www-authenticate': `Bearer error="invalid_token"` },
      });
    }
    return {
      sub: p.sub,
      role: p.role,
      name: typeof p.name === 'string' ? p.name : '',
      emailVerified: p.emailVerified === true,
      sid: typeof p.sid === 'string' ? p.sid : undefined,
      jti: String(p.jti),
      exp: Number(p.exp),
      iat: Number(p.iat),
      authTime: typeof p.auth_time === 'number' ? p.auth_time : undefined,
      aal: p.aal === 'aal2' ? 'aal2' : 'aal1',
      amr: Array.isArray(p.amr) ? p.amr.filter((m): m is string => typeof m === 'string') : [],
    };
  }
}

/**
 * A verifier over auth-service's published JWKS. jose caches the set and refetches it when a token
 * names an unknown `kid` (at most once per `cooldownMs`), so a rotated key is picked up without a restart.
 */
export function remoteVerifier(jwksUrl: string, options: VerifierOptions & { cooldownMs?: number; cacheMaxAgeMs?: number }): TokenVerifier {
  const jwks = createRemoteJWKSet(new URL(jwksUrl), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
    timeoutDuration: 3000,
  });
  return new TokenVerifier(jwks, options);
}

/** Reads `Authorization: Bearer <token>`; undefined when absent, 401 when malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  if (!m) {
    throw new HttpError(401, 'invalid_token', {
      detail: 'Expected "Authorization: Bearer <token>"',
      headers: { 'www-authenticate': `Bearer error="invalid_request"` },
    });
  }
  return m[1];
}
