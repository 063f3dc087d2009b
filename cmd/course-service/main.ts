/** course-service entry: load settings, build the app, listen, close gracefully. */
import { loadCourseConfig } from '../../internal/course-service/config.js';
import { buildCourseApp } from '../../internal/course-service/app.js';
import { exitOnStartError, serve } from '../../internal/shared/lifecycle.js';

async function main(): Promise<void> {
  const config = loadCourseConfig();
  const { app } = await buildCourseApp(config);
  const address = await serve(app, config.http);
  app.log.info({ address, ...(config.http.docs ? { docs: `${address}/docs` } : {}) }, 'course-service ready');
}

main().catch(exitOnStartError('course-service'));
