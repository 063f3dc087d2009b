/**
 * argon2id password hashing. The argon2 binding runs on libuv's thread pool, so hashing never blocks
 * the event loop. Production uses OWASP's parameters (m=19 MiB, t=2, p=1); tests set cheap ones.
 */
import argon2 from 'argon2';
import { createRequire } from 'node:module';

export interface HashParams {
  memoryCostKiB: number;
  timeCost: number;
  parallelism: number;
}

export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(private readonly params: HashParams) {}

  hash(password: string): Promise<string> {
    return argon2.hash(password, {
      type: argon2.argon2id,
      memoryCost: this.params.memoryCostKiB,
      timeCost: this.params.timeCost,
      parallelism: this.params.parallelism,
    });
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }

  /** Spends the same time as a real check, for unknown e-mails (no user enumeration by timing). */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash('dummy-password-for-timing');
    await this.verify(await this.dummy, password);
    return false;
  }

  needsRehash(hash: string): boolean {
    return argon2.needsRehash(hash, { memoryCost: this.params.memoryCostKiB, timeCost: this.params.timeCost, parallelism: this.params.parallelism });
  }
}

export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

let common: Set<string> | undefined;

/** About 49,000 of the most common passwords (zxcvbn-ts's list), lower-cased. */
function commonPasswords(): Set<string> {
  if (!common) {
    const require = createRequire(import.meta.url);
    const { dictionary } = require('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
    common = new Set((dictionary['passwords-common'] ?? []).map((p) => p.toLowerCase()));
  }
  return common;
}

/** Why a password is refused, or undefined when it is acceptable (NIST 800-63B: length and blocklist). */
export function passwordProblem(password: string, context: string[] = []): string | undefined {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return `must be at least ${PASSWORD_MIN} characters`;
  if (length > PASSWORD_MAX) return `must be at most ${PASSWORD_MAX} characters`;
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower)) return 'is too common';
  if (new Set(lower).size < 3) return 'is too simple';
  if (context.some((c) => c.length >= 4 && lower === c.toLowerCase())) return 'must not be your e-mail or name';
  return undefined;
}
