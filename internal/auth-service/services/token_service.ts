/**
 * Access tokens (EdDSA JWTs) and refresh tokens. A refresh token is `<sessionId>.<generation>.<mac>`,
 * mac = HMAC-SHA256(server secret, sessionId | generation | session secret): nothing usable is stored,
 * and the token of any generation can be recomputed, which lets a concurrent tab that presents the
 * just-rotated token get the current pair within the grace window instead of killing the session.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isUuid, newId } from '../../shared/utils/ids.js';
import type { Aal, Role } from '../../shared/utils/jwt.js';
import type { KeyStore } from './signing_keys.js';

export interface AccessTokenInput {
  sub: string;
  role: Role;
  name: string;
  emailVerified: boolean;
  sid?: string;
  /** When the session's holder last authenticated (seconds since the epoch): the `auth_time` claim. */
  authTime?: number;
  /** Assurance level of that authentication: `aal1` (one factor) or `aal2` (two). */
  aal?: Aal;
  /** Methods used (RFC 8176 values: `pwd`, `otp`, `mfa`, `fed`...). */
  amr?: string[];
}

export interface TokenSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSec: number;
}

export class TokenService {
  constructor(
    private readonly keys: KeyStore,
    private readonly settings: TokenSettings,
    private readonly refreshSecret: Buffer,
  ) {}

  get accessTokenTtlSec(): number {
    return this.settings.accessTokenTtlSec;
  }

  issueAccessToken(input: AccessTokenInput): Promise<string> {
    const claims: Record<string, unknown> = { role: input.role, name: input.name, emailVerified: input.emailVerified };
    if (input.sid) claims.sid = input.sid;
    if (input.authTime !== undefined) claims.auth_time = input.authTime;
    if (input.aal) claims.aal = input.aal;
    if (input.amr) claims.amr = input.amr;
    return this.keys.sign(claims, {
      subject: input.sub,
      issuer: this.settings.issuer,
      audience: this.settings.audience,
      ttlSec: this.settings.accessTokenTtlSec,
      jti: newId(),
    });
  }

  refreshToken(sessionId: string, generation: number, sessionSecret: Uint8Array): string {
    return `${sessionId}.${generation}.${this.mac(sessionId, generation, sessionSecret)}`;
  }

  /** Splits a presented refresh token; undefined when it is not of our shape (the session part a UUID). */
  parseRefreshToken(token: string): { sessionId: string; generation: number; mac: string } | undefined {
    const m = /^([0-9a-f-]{36})\.(\d{1,9})\.([A-Za-z0-9_-]{43})$/.exec(token);
    // 36 dashes fit the pattern but not PostgreSQL's uuid: it must not reach a query.
    if (!m || !isUuid(m[1]!)) return undefined;
    return { sessionId: m[1]!, generation: Number(m[2]), mac: m[3]! };
  }

  /** Constant-time check that `mac` belongs to this session and generation. */
  macMatches(sessionId: string, generation: number, sessionSecret: Uint8Array, mac: string): boolean {
    const expected = Buffer.from(this.mac(sessionId, generation, sessionSecret));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private mac(sessionId: string, generation: number, sessionSecret: Uint8Array): string {
    return createHmac('sha256', this.refreshSecret)
      .update(`${sessionId}|${generation}|`)
      .update(sessionSecret)
      .digest('base64url');
  }
}

/** A mail link: the page `base` with the one-time token as its `token` parameter. */
export function tokenLink(base: string, token: string): string {
  const url = new URL(base);
  url.searchParams.set('token', token);
  return url.toString();
}

/** One-time tokens (e-mail links): 32 random bytes out, only their SHA-256 stored. */
export function newOneTimeToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashOneTimeToken(token) };
}

export function hashOneTimeToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Compares two secrets in constant time, whatever their lengths. */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
