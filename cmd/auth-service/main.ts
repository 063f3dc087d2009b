/** auth-service entry: load settings, build the app, listen, close gracefully. */
import { loadAuthConfig } from '../../internal/auth-service/config.js';
import { buildAuthApp } from '../../internal/auth-service/app.js';
import { exitOnStartError, serve } from '../../internal/shared/lifecycle.js';

async function main(): Promise<void> {
  const config = loadAuthConfig();
  const { app } = await buildAuthApp(config);
  const address = await serve(app, config.http);
  app.log.info({ address, docs: `${address}/docs` }, 'auth-service ready');
}

main().catch(exitOnStartError('auth-service'));
