/**
 * The two rules that used to live in app.ts, as units: the server secret (services/server_secret.ts)
 * and the session check of each token (services/session_check.ts). The HTTP tests cover them end to end.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServerSecret } from '../../internal/auth-service/services/server_secret.js';
import { SessionCheck } from '../../internal/auth-service/services/session_check.js';
import type { Principal } from '../../internal/shared/utils/jwt.js';

describe('loadServerSecret', () => {
  const dir = mkdtempSync(join(tmpdir(), 'server-secret-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes the setting when it has at least 32 characters, and refuses a shorter one', () => {
    expect(loadServerSecret('x'.repeat(32), join(dir, 'unused')).toString()).toBe('x'.repeat(32));
    expect(() => loadServerSecret('short', join(dir, 'unused'))).toThrow(/sessions\.refreshSecret/);
  });

  it('without a setting makes a private file once and reads the same secret after that', () => {
    const file = join(dir, 'nested', 'refresh-secret');
    const first = loadServerSecret('', file);
    expect(first.length).toBeGreaterThanOrEqual(64);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadServerSecret('', file).equals(first)).toBe(true);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.toString());
  });
});

describe('SessionCheck', () => {
  const principal = (over: Partial<Principal> = {}): Principal => ({ sub: 'u1', role: 'user', sid: 's1', ...over }) as Principal;
  const check = (live: { user_id: string; role: string; disabled: boolean } | null) =>
    new SessionCheck({ findLiveWithUser: async () => live });

  it('lets a live session of the same account and role through, and a token without a session', async () => {
    await expect(check({ user_id: 'u1', role: 'user', disabled: false }).verify(principal())).resolves.toBeUndefined();
    await expect(check(null).verify(principal({ sid: undefined }))).resolves.toBeUndefined();
  });

  it('answers 401 session_revoked for an ended session, another account or a disabled one, and token_outdated for a changed role', async () => {
    await expect(check(null).verify(principal())).rejects.toMatchObject({ status: 401, code: 'session_revoked' });
    await expect(check({ user_id: 'u2', role: 'user', disabled: false }).verify(principal())).rejects.toMatchObject({ code: 'session_revoked' });
    await expect(check({ user_id: 'u1', role: 'user', disabled: true }).verify(principal())).rejects.toMatchObject({ code: 'session_revoked' });
    await expect(check({ user_id: 'u1', role: 'admin', disabled: false }).verify(principal())).rejects.toMatchObject({ status: 401, code: 'token_outdated' });
  });
});
