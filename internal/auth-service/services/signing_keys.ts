/**
 * Signing keys for access tokens: Ed25519 (EdDSA), PKCS#8 PEM files in one directory, `kid` = the key's
 * RFC 7638 thumbprint. Every key in the directory is published in the JWKS, so a new key can be added
 * (published first, then made active) and an old one removed later: rotation without a failed token.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, SignJWT, createLocalJWKSet, type JWK, type JSONWebKeySet } from 'jose';
import { ACCESS_TOKEN_ALG } from '../../shared/utils/jwt.js';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export class KeyStore {
  private constructor(
    readonly keys: SigningKey[],
    readonly active: SigningKey,
  ) {}

  static async load(dir: string, options: { activeKid?: string; generateIfMissing: boolean }): Promise<KeyStore> {
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pem')).sort() : [];
    if (files.length === 0) {
      if (!options.generateIfMissing) throw new Error(`No signing key (*.pem) in ${dir}`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const { privateKey } = generateKeyPairSync('ed25519');
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}.pem`;
      writeFileSync(join(dir, name), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      files.push(name);
    }
    const keys: SigningKey[] = [];
    for (const file of files) {
      const privateKey = createPrivateKey(readFileSync(join(dir, file)));
      if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file}: only Ed25519 keys are used`);
      const publicJwk = await exportJWK(createPublicKey(privateKey));
      const kid = await calculateJwkThumbprint(publicJwk);
      keys.push({ kid, privateKey, publicJwk: { ...publicJwk, kid, alg: ACCESS_TOKEN_ALG, use: 'sig' } });
    }
    const active = options.activeKid ? keys.find((k) => k.kid === options.activeKid) : keys[keys.length - 1];
    if (!active) throw new Error(`Signing key ${options.activeKid} is not in ${dir}`);
    return new KeyStore(keys, active);
  }

  jwks(): JSONWebKeySet {
    return { keys: this.keys.map((k) => k.publicJwk) };
  }

  /** A verifier key set over the local public keys (auth-service verifies its own tokens). */
  localKeySet(): ReturnType<typeof createLocalJWKSet> {
    return createLocalJWKSet(this.jwks());
  }

  sign(claims: Record<string, unknown>, options: { subject: string; issuer: string; audience: string; ttlSec: number; jti: string }): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: this.active.kid, typ: 'at+jwt' })
      .setSubject(options.subject)
      .setIssuer(options.issuer)
      .setAudience(options.audience)
      .setIssuedAt()
      .setExpirationTime(`${options.ttlSec}s`)
      .setJti(options.jti)
      .sign(this.active.privateKey);
  }
}
