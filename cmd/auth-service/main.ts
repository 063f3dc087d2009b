/** auth-service entry: load settings, build the app, listen, close gracefully. */
import { loadAuthConfig } from '../../internal/auth-service/config.js';
import { buildAuthApp } from '../../internal/auth-service/app.js';
import { exitOnStartError, serve } from '../../internal/shared/lifecycle.js';
import { HashThreads } from '../../internal/auth-service/services/thread_priority.js';
import { reportHashThreads } from '../../internal/auth-service/hash_threads_report.js';

async function main(): Promise<void> {
  const config = loadAuthConfig();
  // Before anything else uses the thread pool (see thread_priority.ts); the app and its logger come later.
  const threads = await HashThreads.start({ niceness: config.passwords.threadNiceness, idle: config.passwords.threadIdle });
  const { app, hasher } = await buildAuthApp(config);

  reportHashThreads(app, threads, config.passwords.threadNiceness);
  hasher.whenSlow(config.passwords.slowHashMs, () => threads.slowHash());

  const address = await serve(app, config.http);
  app.log.info({ address, ...(config.http.docs ? { docs: `${address}/docs` } : {}) }, 'auth-service ready');
}

main().catch(exitOnStartError('auth-service'));
