/** auth-service entry: load settings, build the app, listen, close gracefully. */
import { loadAuthConfig } from '../../internal/auth-service/config.js';
import { buildAuthApp } from '../../internal/auth-service/app.js';
import { exitOnStartError, serve } from '../../internal/shared/lifecycle.js';
import { lowerHashThreads } from '../../internal/auth-service/services/hash_threads.js';

async function main(): Promise<void> {
  const config = loadAuthConfig();
  // Before anything else uses the thread pool (services/hash_threads.ts); the app and its logger come later.
  const hashThreads = await lowerHashThreads(config.passwords);
  const { app, hasher } = await buildAuthApp(config);
  hashThreads.attach(app, hasher);

  const address = await serve(app, config.http);
  app.log.info({ address, ...(config.http.docs ? { docs: `${address}/docs` } : {}) }, 'auth-service ready');
}

main().catch(exitOnStartError('auth-service'));
