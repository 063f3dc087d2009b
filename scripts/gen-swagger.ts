/**
 * Writes swagger/<service>-swagger.yml from the route schemas: builds each app exactly as it runs (on a
 * throw-away in-memory database) and saves what it serves at /docs/yaml. A test fails when a committed
 * file differs from what the service serves, so run `npm run swagger` after changing a route.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';
import { openDatabase } from '../internal/shared/utils/database.js';
import { createLogger } from '../internal/shared/utils/logging.js';
import { buildAuthApp } from '../internal/auth-service/app.js';
import { loadAuthConfig } from '../internal/auth-service/config.js';
import { buildCourseApp } from '../internal/course-service/app.js';
import { loadCourseConfig } from '../internal/course-service/config.js';

export async function authDocument(): Promise<string> {
  const varDir = mkdtempSync(join(tmpdir(), 'swagger-auth-'));
  try {
    const config = loadAuthConfig({ env: {}, overrides: { varDir, redis: { url: '' }, mail: { workerEnabled: false, smtpUrl: '' } } });
    const db = await openDatabase({ url: '', dataDir: 'memory://' });
    const { app } = await buildAuthApp(config, { db, logger: createLogger('silent', 'auth-service') });
    await app.ready();
    const yaml = app.swagger({ yaml: true });
    await app.close();
    await db.close();
    return yaml;
  } finally {
    rmSync(varDir, { recursive: true, force: true });
  }
}

/**
 * course-service's document, built the same way. The JWKS is fetched only when a token arrives, so no
 * auth-service is needed; the outbox relay stays off (nothing to deliver to).
 */
export async function courseDocument(): Promise<string> {
  const varDir = mkdtempSync(join(tmpdir(), 'swagger-course-'));
  try {
    const config = loadCourseConfig({ env: {}, overrides: { varDir, redis: { url: '' }, relay: { enabled: false } } });
    const db = await openDatabase({ url: '', dataDir: 'memory://' });
    const { app } = await buildCourseApp(config, { db, logger: createLogger('silent', 'course-service') });
    await app.ready();
    const yaml = app.swagger({ yaml: true });
    await app.close();
    await db.close();
    return yaml;
  } finally {
    rmSync(varDir, { recursive: true, force: true });
  }
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
