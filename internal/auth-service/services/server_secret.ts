/**
 * The server secret that keys auth-service's HMACs (refresh tokens, unsubscribe links): from settings,
 * else a random one kept in a file under varDir, made on first start, so that tokens survive a restart
 * of an embedded install without any setting.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** `setting` is `sessions.refreshSecret` (at least 32 characters when set); `file` is used when it is empty. */
export function loadServerSecret(setting: string, file: string): Buffer {
  if (setting) {
    if (setting.length < 32) throw new Error('Invalid setting sessions.refreshSecret: at least 32 characters');
    return Buffer.from(setting);
  }
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600 });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim());
}
