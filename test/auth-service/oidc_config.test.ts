/** oidc.* settings: JSON providers from the environment, and what the loader refuses (issue 19). */
import { describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../../internal/auth-service/config.js';
import { ConfigError } from '../../internal/shared/utils/config.js';

const provider = (over: Record<string, string> = {}) => ({ id: 'kc', name: 'Company', issuer: 'https://sso.example.com/realms/staff', clientId: 'platform', clientSecret: 's3cret', ...over });
const env = (providers: unknown[], extra: Record<string, string> = {}) => ({ OIDC_PROVIDERS: JSON.stringify(providers), ...extra });

describe('oidc settings', () => {
  it('reads providers, the insecure switch and the redirect origins from the environment', () => {
    const config = loadAuthConfig({ env: env([provider()], { OIDC_REDIRECT_ORIGINS: 'https://app.example.com,http://localhost:3000' }) });
    expect(config.oidc.providers).toEqual([provider()]);
    expect(config.oidc.allowInsecure).toBe(false);
    expect(config.oidc.redirectOrigins).toEqual(['https://app.example.com', 'http://localhost:3000']);
    expect(config.oidc).toMatchObject({ stateTtlSec: 600, codeTtlSec: 60 });
    expect(loadAuthConfig({ env: {} }).oidc.providers).toEqual([]);
  });

  it('refuses an http: issuer unless OIDC_ALLOW_INSECURE is set', () => {
    const insecure = [provider({ issuer: 'http://127.0.0.1:4000' })];
    expect(() => loadAuthConfig({ env: env(insecure) })).toThrow(ConfigError);
    expect(() => loadAuthConfig({ env: env(insecure) })).toThrow(/oidc\.providers\.0\.issuer: an http: issuer needs oidc\.allowInsecure/);
    expect(loadAuthConfig({ env: env(insecure, { OIDC_ALLOW_INSECURE: 'true' }) }).oidc.providers[0]!.issuer).toBe('http://127.0.0.1:4000');
  });

  it('names the bad provider setting: a duplicate id, a bad id, a missing secret, an unknown field, a redirect origin with a path', () => {
    expect(() => loadAuthConfig({ env: env([provider(), provider({ name: 'Again' })]) })).toThrow(/oidc\.providers\.1\.id: "kc" is used twice/);
    expect(() => loadAuthConfig({ env: env([provider({ id: 'Has Spaces' })]) })).toThrow(/Invalid setting oidc\.providers\.0\.id/);
    const { clientSecret: _omitted, ...noSecret } = provider();
    expect(() => loadAuthConfig({ env: env([noSecret]) })).toThrow(/oidc\.providers\.0/);
    expect(() => loadAuthConfig({ env: env([{ ...provider(), extra: 1 }]) })).toThrow(/oidc\.providers\.0/);
    expect(() => loadAuthConfig({ env: env([provider({ scope: 'email profile' })]) })).toThrow(/oidc\.providers\.0\.scope/);
    expect(() => loadAuthConfig({ env: { OIDC_REDIRECT_ORIGINS: 'https://app.example.com/path' } })).toThrow(/oidc\.redirectOrigins/);
    expect(() => loadAuthConfig({ env: { OIDC_PROVIDERS: 'not json' } })).toThrow(/Invalid setting oidc\.providers\.0/);
  });
});
