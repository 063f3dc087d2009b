/**
 * What auth-service says about its hashing threads (services/thread_priority.ts): two metrics and a log
 * line per change of priority. Apart from main.ts so that a test can read the lines it writes.
 */
import { Counter, Gauge } from 'prom-client';
import type { App } from '../shared/server.js';
import type { HashThreadLevel, HashThreads } from './services/thread_priority.js';

const LEVELS: HashThreadLevel[] = ['normal', 'nice', 'idle'];

export function reportHashThreads(app: App, threads: HashThreads, niceness: number): void {
  new Gauge({
    name: 'auth_hash_threads_level',
    help: 'CPU priority of the password-hashing threads: 0 normal, 1 nice, 2 idle (SCHED_IDLE)',
    registers: [app.metrics],
    collect() {
      this.set(LEVELS.indexOf(threads.current));
    },
  });
  const starved = new Counter({
    name: 'auth_hash_threads_starved_total',
    help: 'Times a slow hash moved the hashing threads from idle back to nice (the host had no spare CPU)',
    registers: [app.metrics],
  });
  // The field is `priority`, not `level`: pino writes the log level as `level`, and a second one made
  // the line JSON with a duplicate key (which most parsers resolve by keeping the last: "idle").
  threads.watch((priority, reason) => {
    if (priority === 'nice' && reason !== 'start') {
      starved.inc();
      app.log.warn({ priority, reason }, 'password hashing threads back at nice priority');
    } else app.log.info({ priority, reason }, 'password hashing threads changed priority');
  });
  app.log.info({ threads: threads.tids.length, priority: threads.current, niceness }, 'password hashing threads at lower CPU priority');
}
