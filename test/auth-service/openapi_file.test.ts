/**
 * The committed swagger/auth-service-swagger.yml is exactly what auth-service serves. When this fails
 * after a route change, run `npm run swagger` and commit the file.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthApp, type AuthApp } from '../../internal/auth-service/app.js';
import { loadAuthConfig } from '../../internal/auth-service/config.js';
import { openDatabase, type Database } from '../../internal/shared/utils/database.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { PROJECT_ROOT } from '../../internal/shared/utils/paths.js';

const FILE = join(PROJECT_ROOT, 'swagger', 'auth-service-swagger.yml');

type Doc = { openapi: string; info: { title: string }; paths: Record<string, Record<string, { responses?: Record<string, unknown> }>> };

describe('swagger/auth-service-swagger.yml', () => {
  let varDir: string;
  let db: Database;
  let built: AuthApp;

  beforeAll(async () => {
    // Default settings (as the service runs without any), on a throw-away in-memory database.
    varDir = mkdtempSync(join(tmpdir(), 'auth-openapi-'));
    const config = loadAuthConfig({ env: {}, overrides: { varDir, redis: { url: '' }, mail: { workerEnabled: false, smtpUrl: '' } } });
    db = await openDatabase({ url: '', dataDir: 'memory://' });
    built = await buildAuthApp(config, { db, logger: createLogger('silent', 'auth-service') });
    await built.app.ready();
  }, 60_000);
  afterAll(async () => {
    await built?.app.close();
    await db?.close();
    rmSync(varDir, { recursive: true, force: true });
  });

  it('exists (generate it with `npm run swagger`)', () => {
    expect(existsSync(FILE), `${FILE} is missing; run npm run swagger`).toBe(true);
  });

  it('equals the document the app serves, at /docs/json and /docs/yaml', async () => {
    const committed = parseYaml(readFileSync(FILE, 'utf8')) as Doc;
    const served = JSON.parse(JSON.stringify(built.app.swagger())) as Doc;
    expect(committed).toEqual(served);

    const json = await built.app.inject({ method: 'GET', url: '/docs/json' });
    expect(json.statusCode).toBe(200);
    expect(JSON.parse(json.body)).toEqual(committed);
    const yaml = await built.app.inject({ method: 'GET', url: '/docs/yaml' });
    expect(yaml.statusCode).toBe(200);
    expect(parseYaml(yaml.body)).toEqual(committed);
  });

  it('documents every auth-service route, each with its responses', () => {
    const doc = built.app.swagger() as unknown as Doc;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('auth-service');
    const expected: [string, string][] = [
      ['post', '/api/v1/auth/register'],
      ['post', '/api/v1/auth/login'],
      ['post', '/api/v1/auth/refresh'],
      ['post', '/api/v1/auth/logout'],
      ['post', '/api/v1/auth/token'],
      ['post', '/api/v1/auth/verify-email'],
      ['post', '/api/v1/auth/verify-email/resend'],
      ['post', '/api/v1/auth/password/forgot'],
      ['post', '/api/v1/auth/password/reset'],
      ['post', '/api/v1/auth/password/change'],
      ['get', '/api/v1/auth/sessions'],
      ['delete', '/api/v1/auth/sessions/{id}'],
      ['get', '/api/v1/users/me'],
      ['patch', '/api/v1/users/me'],
      ['get', '/api/v1/admin/users'],
      ['patch', '/api/v1/admin/users/{id}'],
      ['delete', '/api/v1/admin/users/{id}/sessions'],
      ['post', '/api/v1/notifications'],
      ['get', '/api/v1/admin/notifications'],
      ['post', '/api/v1/admin/notifications/{id}/retry'],
      ['get', '/.well-known/jwks.json'],
      ['get', '/healthz'],
      ['get', '/readyz'],
      ['get', '/metrics'],
    ];
    for (const [method, path] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method.toUpperCase()} ${path} is not documented`).toBeDefined();
      expect(Object.keys(op!.responses ?? {}).length, `${method.toUpperCase()} ${path} has no responses`).toBeGreaterThan(0);
    }
  });
});
