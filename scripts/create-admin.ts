/**
 * npm run create-admin -- --email E --password P [--name N]
 * Creates a verified admin, or promotes the existing user with that e-mail. With the embedded database
 * run it while auth-service is stopped (PGlite is one process); or set ADMIN_EMAIL/ADMIN_PASSWORD.
 */
import { parseArgs } from 'node:util';
import { openDatabase } from '../internal/shared/utils/database.js';
import { Migrator } from '../internal/shared/utils/migrations.js';
import { migrationsDir } from '../internal/shared/utils/paths.js';
import { authPaths, loadAuthConfig } from '../internal/auth-service/config.js';
import { UserRepository } from '../internal/auth-service/repository/user_repository.js';
import { SessionRepository } from '../internal/auth-service/repository/session_repository.js';
import { SecurityEventRepository } from '../internal/auth-service/repository/security_event_repository.js';
import { PasswordHasher } from '../internal/auth-service/services/password_hasher.js';
import { UserService } from '../internal/auth-service/services/user_service.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' } } });
  if (!values.email || !values.password) throw new Error('usage: npm run create-admin -- --email E --password P [--name N]');
  const config = loadAuthConfig();
  const db = await openDatabase({ url: config.database.url, dataDir: authPaths(config).dataDir, poolSize: 2 });
  try {
    await new Migrator(db, 'auth-service', migrationsDir('auth-service')).up();
    const service = new UserService(db, new UserRepository(db), new SessionRepository(db), new PasswordHasher(config.passwords), new SecurityEventRepository(db));
    const { created } = await service.ensureAdmin(values.email, values.password, values.name);
    console.log(created ? `admin ${values.email} created` : `${values.email} exists and is an admin now`);
  } finally {
    await db.close();
  }
}

main().catch((err: unknown) => {
  console.error(`create-admin: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
