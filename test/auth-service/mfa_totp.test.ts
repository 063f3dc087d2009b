/**
 * TOTP as RFC 6238 defines it: the library against the RFC's test vectors, our 6-digit codes against an
 * independent implementation written here with node:crypto (RFC 4226 HOTP), the skew window, and the
 * sealing of secrets at rest.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { SecretBox, codeAt, matchStep, mfaEncryptionKey, newTotpSecret, otpauthUri, timeStep } from '../../internal/auth-service/services/totp.js';

/** RFC 4226 section 5.3, with the RFC 6238 counter (unix time / 30): independent of the library. */
function referenceCode(key: Buffer, unixSec: number, digits: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSec / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return String(binary).padStart(digits, '0');
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32Decode(text: string): Buffer {
  let bits = '';
  for (const ch of text.replace(/=+$/, '')) bits += BASE32.indexOf(ch).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

// RFC 6238 Appendix B, the SHA-1 rows (seed "12345678901234567890", 8 digits).
const VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238)', () => {
  const seed = Buffer.from('12345678901234567890', 'ascii');

  it.each(VECTORS)('the library gives the RFC test vector at T=%i', (t, expected) => {
    const totp = new TOTP({ secret: Secret.fromLatin1('12345678901234567890'), algorithm: 'SHA1', digits: 8, period: 30 });
    expect(totp.generate({ timestamp: t * 1000 })).toBe(expected);
    expect(referenceCode(seed, t, 8)).toBe(expected);
  });

  it('our 6-digit codes equal the independent implementation for random secrets and times', () => {
    for (let i = 0; i < 50; i++) {
      const secret = newTotpSecret();
      const key = base32Decode(secret);
      expect(key).toHaveLength(20);
      const t = Math.floor(Math.random() * 4_000_000_000);
      expect(codeAt(secret, t * 1000)).toBe(referenceCode(key, t, 6));
      expect(matchStep(secret, referenceCode(key, t, 6), t * 1000)).toBe(Math.floor(t / 30));
    }
    // The RFC seed at 6 digits: the last six of the 8-digit vector.
    const rfcSecret = new Secret({ buffer: new Uint8Array(seed).buffer }).base32;
    for (const [t, expected] of VECTORS) expect(codeAt(rfcSecret, t * 1000)).toBe(expected.slice(2));
  });

  it('accepts one step of clock skew either way and refuses two, naming the step it matched', () => {
    const secret = newTotpSecret();
    const key = base32Decode(secret);
    const now = 1_700_000_015_000; // the middle of a step
    const step = timeStep(now);
    const at = (offsetSteps: number) => referenceCode(key, now / 1000 + offsetSteps * 30, 6);
    expect(matchStep(secret, at(0), now)).toBe(step);
    expect(matchStep(secret, at(-1), now)).toBe(step - 1);
    expect(matchStep(secret, at(1), now)).toBe(step + 1);
    // Two steps away: refused (unless it happens to equal a code inside the window, one in ~300000).
    for (const off of [-2, 2]) {
      const code = at(off);
      if ([at(-1), at(0), at(1)].includes(code)) continue;
      expect(matchStep(secret, code, now)).toBeNull();
    }
  });

  it('refuses codes that are not six digits', () => {
    const secret = newTotpSecret();
    const code = codeAt(secret, Date.now());
    for (const bad of ['', '12345', `${code}0`, ` ${code}`, 'abcdef', '12345x']) expect(matchStep(secret, bad)).toBeNull();
  });

  it('builds an otpauth URI with SHA1, 6 digits, 30 s, the issuer and the account', () => {
    const secret = newTotpSecret();
    const uri = new URL(otpauthUri(secret, 'ada@example.com', 'Course Platform'));
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.searchParams.get('secret')).toBe(secret);
    expect(uri.searchParams.get('algorithm')).toBe('SHA1');
    expect(uri.searchParams.get('digits')).toBe('6');
    expect(uri.searchParams.get('period')).toBe('30');
    expect(uri.searchParams.get('issuer')).toBe('Course Platform');
    expect(decodeURIComponent(uri.pathname)).toContain('ada@example.com');
  });
});

describe('sealing TOTP secrets (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('opens what it sealed, with the same context; the sealed bytes do not contain the secret', () => {
    const box = new SecretBox(key);
    const secret = newTotpSecret();
    const sealed = box.seal(secret, 'factor:user');
    expect(sealed.toString('latin1')).not.toContain(secret);
    expect(sealed.includes(base32Decode(secret))).toBe(false);
    expect(box.open(sealed, 'factor:user')).toBe(secret);
    // A fresh IV each time.
    expect(box.seal(secret, 'factor:user').equals(sealed)).toBe(false);
  });

  it('refuses another context (a row copied to another user), another key and changed bytes', () => {
    const box = new SecretBox(key);
    const sealed = box.seal(newTotpSecret(), 'factor:user');
    expect(() => box.open(sealed, 'factor:other-user')).toThrow();
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'factor:user')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    expect(() => box.open(tampered, 'factor:user')).toThrow();
    expect(() => box.open(Buffer.from([9, 1, 2]), 'factor:user')).toThrow();
  });

  it('takes the key from the setting (base64 of 32 bytes) or derives it from the server secret', () => {
    const set = randomBytes(32);
    expect(mfaEncryptionKey(set.toString('base64'), Buffer.from('server-secret')).equals(set)).toBe(true);
    expect(() => mfaEncryptionKey(randomBytes(16).toString('base64'), Buffer.from('s'))).toThrow(/mfa.encryptionKey/);
    const derived = mfaEncryptionKey('', Buffer.from('a server secret of some length'));
    expect(derived).toHaveLength(32);
    expect(mfaEncryptionKey('', Buffer.from('a server secret of some length')).equals(derived)).toBe(true);
    expect(mfaEncryptionKey('', Buffer.from('another server secret')).equals(derived)).toBe(false);
  });
});
