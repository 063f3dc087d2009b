/**
 * The committed swagger/course-service-swagger.yml is exactly what course-service serves (DESIGN 4):
 * regenerate it with `npm run swagger` after changing a route. Runs on embedded PGlite, so it needs no
 * PostgreSQL server.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCourseApp, type CourseApp } from '../../internal/course-service/app.js';
import { loadCourseConfig } from '../../internal/course-service/config.js';
import { openDatabase, type Database } from '../../internal/shared/utils/database.js';
import { createLogger } from '../../internal/shared/utils/logging.js';
import { PROJECT_ROOT } from '../../internal/shared/utils/paths.js';

describe('swagger/course-service-swagger.yml', () => {
  let varDir: string;
  let db: Database;
  let built: CourseApp;

  beforeAll(async () => {
    varDir = mkdtempSync(join(tmpdir(), 'course-openapi-'));
    // Default settings, as `npm run swagger` uses them (the document names the default public URL).
    const config = loadCourseConfig({ env: {}, overrides: { varDir, redis: { url: '' }, relay: { enabled: false } } });
    db = await openDatabase({ url: '', dataDir: 'memory://' });
    built = await buildCourseApp(config, { db, logger: createLogger('silent', 'course-service') });
    await built.app.ready();
  });
  afterAll(async () => {
    await built?.app.close();
    await db?.close();
    rmSync(varDir, { recursive: true, force: true });
  });

  it('deep-equals the document the app serves', async () => {
    const committed: unknown = parse(readFileSync(join(PROJECT_ROOT, 'swagger', 'course-service-swagger.yml'), 'utf8'));
    const generated: unknown = JSON.parse(JSON.stringify(built.app.swagger()));
    expect(committed).toEqual(generated);
    const served = await built.app.inject({ method: 'GET', url: '/docs/json' });
    expect(served.statusCode).toBe(200);
    expect(committed).toEqual(JSON.parse(served.body));
  });

  it('documents every endpoint of DESIGN section 6, the cache header and conditional requests', () => {
    const doc = built.app.swagger() as unknown as { paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses: Record<string, { headers?: Record<string, unknown> }> }>> };
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations).toEqual(
      expect.arrayContaining([
        'GET /api/v1/courses',
        'POST /api/v1/courses',
        'GET /api/v1/courses/{id}',
        'PATCH /api/v1/courses/{id}',
        'DELETE /api/v1/courses/{id}',
        'GET /api/v1/courses/{id}/reviews',
        'POST /api/v1/courses/{id}/reviews',
        'GET /api/v1/reviews',
        'GET /api/v1/reviews/{id}',
        'PATCH /api/v1/reviews/{id}',
        'DELETE /api/v1/reviews/{id}',
        'PUT /api/v1/reviews/{id}/response',
        'DELETE /api/v1/reviews/{id}/response',
        'GET /api/v1/categories',
      ]),
    );
    for (const path of ['/api/v1/courses', '/api/v1/courses/{id}', '/api/v1/courses/{id}/reviews', '/api/v1/reviews', '/api/v1/reviews/{id}', '/api/v1/categories']) {
      const get = doc.paths[path]!.get!;
      expect(Object.keys(get.responses['200']!.headers ?? {}), path).toEqual(expect.arrayContaining(['x-cache', 'etag']));
      expect(get.responses['304'], path).toBeDefined();
    }
    expect(doc.paths['/api/v1/courses/{id}']!.patch!.parameters).toContainEqual(expect.objectContaining({ name: 'if-match', in: 'header' }));
    expect(doc.paths['/api/v1/courses/{id}']!.patch!.responses['412']).toBeDefined();
    expect(doc.paths['/api/v1/courses']!.post!.responses['201']!.headers).toHaveProperty('location');
  });
});
