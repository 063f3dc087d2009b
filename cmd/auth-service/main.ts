/** auth-service entry: load settings, build the app, listen, close gracefully. */
import { loadAuthConfig } from '../../internal/auth-service/config.js';
import { buildAuthApp } from '../../internal/auth-service/app.js';
import { exitOnStartError, serve } from '../../internal/shared/lifecycle.js';
import { lowerThreadPoolPriority } from '../../internal/auth-service/services/thread_priority.js';

async function main(): Promise<void> {
  const config = loadAuthConfig();
  // Before anything uses the thread pool (see thread_priority.ts).
  const niced = await lowerThreadPoolPriority(config.passwords.threadNiceness);
  const { app } = await buildAuthApp(config);
  app.log.info({ threads: niced, niceness: config.passwords.threadNiceness }, 'password hashing threads at lower CPU priority');
  const address = await serve(app, config.http);
  app.log.info({ address, docs: `${address}/docs` }, 'auth-service ready');
}

main().catch(exitOnStartError('auth-service'));
