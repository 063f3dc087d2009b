/**
 * TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30 s steps, one step of clock skew either way) through the
 * `otpauth` library, and the sealing of TOTP secrets at rest (AES-256-GCM).
 *
 * A code is matched to its time step here; whether that step may still be used (each code works once)
 * is decided by the database, in the UPDATE that records it (repository/mfa_repository.ts).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_SEC = 30;
export const TOTP_DIGITS = 6;
/** Steps accepted either side of now (RFC 6238 section 5.2 recommends at most one). */
export const TOTP_SKEW_STEPS = 1;

/** A new random TOTP secret (20 bytes, the length of an SHA-1 output: RFC 4226 section 4), base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totp(secretBase32: string, label = '', issuer = ''): TOTP {
  return new TOTP({ secret: Secret.fromBase32(secretBase32), algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SEC, label, issuer });
}

/** The `otpauth://totp/...` URI an authenticator app reads from a QR code. */
export function otpauthUri(secretBase32: string, account: string, issuer: string): string {
  return totp(secretBase32, account, issuer).toString();
}

/** The time step of `nowMs`. */
export function timeStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD_SEC);
}

/**
 * The time step whose code `code` is, within one step of `nowMs`, or null. The comparison is in
 * constant time (the library's). The caller still has to check-and-set the step as used.
 */
export function matchStep(secretBase32: string, code: string, nowMs: number = Date.now()): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const delta = totp(secretBase32).validate({ token: code, timestamp: nowMs, window: TOTP_SKEW_STEPS });
  return delta === null ? null : timeStep(nowMs) + delta;
}

/** The code of a time step (tests, tools). */
export function codeAt(secretBase32: string, nowMs: number): string {
  return totp(secretBase32).generate({ timestamp: nowMs });
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The key that seals TOTP secrets: `mfa.encryptionKey` (base64 of 32 bytes) when set, else derived
 * from the server secret with HKDF-SHA-256 (so an embedded install needs no setting, like the server
 * secret itself). Changing either makes the stored secrets unreadable: users then enrol again.
 */
export function mfaEncryptionKey(setting: string, serverSecret: Buffer): Buffer {
  if (setting) {
    const key = Buffer.from(setting, 'base64');
    if (key.length !== 32) throw new Error('Invalid setting mfa.encryptionKey: base64 of exactly 32 bytes');
    return key;
  }
  return Buffer.from(hkdfSync('sha256', serverSecret, Buffer.alloc(0), 'course-platform mfa totp secret encryption v1', 32));
}

/** AES-256-GCM with a random 96-bit IV per secret; `context` (factor and user id) is bound as associated data. */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
  }

  seal(plain: string, context: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  /** Throws when the key, the context or the bytes are not the ones it was sealed with. */
  open(sealed: Buffer, context: string): string {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) throw new Error('sealed secret: unknown format');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}
