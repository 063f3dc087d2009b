/** auth-service entry: load settings, build the app, listen, close gracefully. */
import { Counter, Gauge } from 'prom-client';
import { loadAuthConfig } from '../../internal/auth-service/config.js';
import { buildAuthApp } from '../../internal/auth-service/app.js';
import { exitOnStartError, serve } from '../../internal/shared/lifecycle.js';
import { HashThreads, type HashThreadLevel } from '../../internal/auth-service/services/thread_priority.js';

async function main(): Promise<void> {
  const config = loadAuthConfig();
  // Before anything else uses the thread pool (see thread_priority.ts); the app and its logger come later.
  const threads = await HashThreads.start({ niceness: config.passwords.threadNiceness, idle: config.passwords.threadIdle });
  const { app, hasher } = await buildAuthApp(config);

  const levels: HashThreadLevel[] = ['normal', 'nice', 'idle'];
  new Gauge({
    name: 'auth_hash_threads_level',
    help: 'CPU priority of the password-hashing threads: 0 normal, 1 nice, 2 idle (SCHED_IDLE)',
    registers: [app.metrics],
    collect() {
      this.set(levels.indexOf(threads.current));
    },
  });
  const starved = new Counter({
    name: 'auth_hash_threads_starved_total',
    help: 'Times a slow hash moved the hashing threads from idle back to nice (the host had no spare CPU)',
    registers: [app.metrics],
  });
  threads.watch((level, reason) => {
    if (level === 'nice' && reason !== 'start') {
      starved.inc();
      app.log.warn({ level, reason }, 'password hashing threads back at nice priority');
    } else app.log.info({ level, reason }, 'password hashing threads changed priority');
  });
  app.log.info({ threads: threads.tids.length, level: threads.current, niceness: config.passwords.threadNiceness }, 'password hashing threads at lower CPU priority');
  hasher.whenSlow(config.passwords.slowHashMs, () => threads.slowHash());

  const address = await serve(app, config.http);
  app.log.info({ address, docs: `${address}/docs` }, 'auth-service ready');
}

main().catch(exitOnStartError('auth-service'));
