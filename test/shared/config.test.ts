/** Settings: defaults < YAML < environment, validated with a message that names the bad setting. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAuthConfig } from '../../internal/auth-service/config.js';
import { loadCourseConfig } from '../../internal/course-service/config.js';
import { ConfigError } from '../../internal/shared/utils/config.js';
import { PROJECT_ROOT } from '../../internal/shared/utils/paths.js';
import { settingsSection, withSettings } from '../../scripts/gen-settings-doc.js';

function yaml(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'c.yml');
  writeFileSync(file, text);
  return file;
}

describe('settings', () => {
  it('takes defaults, then the YAML file, then the environment', () => {
    const file = yaml('http:\n  port: 9000\njwt:\n  accessTokenTtlSec: 600\n');
    const fromFile = loadAuthConfig({ file, env: {} });
    expect(fromFile.http.port).toBe(9000);
    expect(fromFile.jwt.accessTokenTtlSec).toBe(600);
    expect(fromFile.passwords.memoryCostKiB).toBe(19456);
    const fromEnv = loadAuthConfig({ file, env: { AUTH_PORT: '9100', REQUIRE_EMAIL_VERIFICATION: 'false', CORS_ORIGINS: 'https://a.test, https://b.test' } });
    expect(fromEnv.http.port).toBe(9100);
    expect(fromEnv.auth.requireEmailVerification).toBe(false);
    expect(fromEnv.http.corsOrigins).toEqual(['https://a.test', 'https://b.test']);
    expect(loadAuthConfig({ file, env: { PORT: '9200' } }).http.port).toBe(9200);
    expect(loadAuthConfig({ file, env: { PORT: '9200', AUTH_PORT: '9300' } }).http.port).toBe(9300);
  });

  it('parses JSON settings from the environment (service clients)', () => {
    const config = loadAuthConfig({ env: { AUTH_CLIENTS: '[{"id":"course-service","secret":"0123456789abcdef0123"}]' } });
    expect(config.clients).toEqual([{ id: 'course-service', secret: '0123456789abcdef0123' }]);
  });

  it('names the bad setting and where it came from', () => {
    expect(() => loadAuthConfig({ env: { AUTH_PORT: 'eighty' } })).toThrow(/Invalid setting http\.port \(from AUTH_PORT\)/);
    expect(() => loadCourseConfig({ env: { COURSE_PORT: '70000' } })).toThrow(/http\.port/);
    expect(() => loadAuthConfig({ env: { AUTH_CLIENTS: '[{"id":"x","secret":"short"}]' } })).toThrow(ConfigError);
    expect(() => loadAuthConfig({ file: yaml('jwt:\n  accesTokenTtlSec: 5\n'), env: {} })).toThrow(/Unknown setting jwt\.accesTokenTtlSec/);
    expect(() => loadAuthConfig({ file: yaml('http: [1, 2\n'), env: {} })).toThrow(/Cannot read/);
    expect(() => loadAuthConfig({ env: { LOG_LEVEL: 'loud' } })).toThrow(/log\.level/);
  });

  it('the README lists every setting as the schemas define them', () => {
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(settingsSection());
    expect(withSettings(readme)).toBe(readme);
  });
});
