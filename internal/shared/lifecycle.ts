/**
 * The part of an entry point that is the same for both services: listen, then on SIGTERM/SIGINT stop
 * taking requests, drain those in flight and the workers (the app's onClose hooks), and exit.
 */
import type { App } from './server.js';
import { ConfigError } from './utils/config.js';

export async function serve(app: App, http: { host: string; port: number; shutdownGraceMs: number }): Promise<string> {
  const address = await app.listen({ host: http.host, port: http.port });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: draining requests and workers');
    const timer = setTimeout(() => {
      app.log.error('drain took too long; exiting');
      process.exit(1);
    }, http.shutdownGraceMs);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        app.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return address;
}

/** Start-up failures end the process with one clear line (a bad setting names itself). */
export function exitOnStartError(service: string) {
  return (err: unknown): never => {
    const message = err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
    console.error(`${service}: cannot start: ${message}`);
    process.exit(1);
  };
}
