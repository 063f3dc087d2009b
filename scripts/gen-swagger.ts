/**
 * Writes swagger/<service>-swagger.yml from the route schemas: builds each app exactly as it runs (on a
 * throw-away in-memory database) and saves what it serves at /docs/yaml. A test fails when a committed
 * file differs from what the service serves, so run `npm run swagger` after changing a route.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';
import { openDatabase, type Database } from '../internal/shared/utils/database.js';
import type { App } from '../internal/shared/server.js';
import { createLogger } from '../internal/shared/utils/logging.js';
import { buildAuthApp } from '../internal/auth-service/app.js';
import { loadAuthConfig } from '../internal/auth-service/config.js';
import { buildCourseApp } from '../internal/course-service/app.js';
import { loadCourseConfig } from '../internal/course-service/config.js';

/** Builds an app on a throw-away in-memory database in a temporary varDir and returns its YAML. */
async function served(service: string, build: (varDir: string, db: Database) => Promise<{ app: App }>): Promise<string> {
  const varDir = mkdtempSync(join(tmpdir(), `swagger-${service}-`));
  const db = await openDatabase({ url: '', dataDir: 'memory://' });
  try {
    const { app } = await build(varDir, db);
    await app.ready();
    const yaml = app.swagger({ yaml: true });
    await app.close();
    return yaml;
  } finally {
    await db.close();
    rmSync(varDir, { recursive: true, force: true });
  }
}

export function authDocument(): Promise<string> {
  return served('auth', (varDir, db) => {
    const config = loadAuthConfig({ env: {}, overrides: { varDir, redis: { url: '' }, mail: { workerEnabled: false, smtpUrl: '' } } });
    return buildAuthApp(config, { db, logger: createLogger('silent', 'auth-service') });
  });
}

/**
 * course-service's document. The JWKS is fetched only when a token arrives, so no auth-service is
 * needed; the outbox relay stays off (nothing to deliver to).
 */
export function courseDocument(): Promise<string> {
  return served('course', (varDir, db) => {
    const config = loadCourseConfig({ env: {}, overrides: { varDir, redis: { url: '' }, relay: { enabled: false } } });
    return buildCourseApp(config, { db, logger: createLogger('silent', 'course-service') });
  });
}

async function main(): Promise<void> {
  const docs: [string, () => Promise<string>][] = [
    ['auth-service', authDocument],
    ['course-service', courseDocument],
  ];
  for (const [service, make] of docs) {
    const file = join(PROJECT_ROOT, 'swagger', `${service}-swagger.yml`);
    writeFileSync(file, await make());
    console.log(`wrote ${file}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
