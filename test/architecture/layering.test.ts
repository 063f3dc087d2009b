// The layering of docs/ARCHITECTURE.md is enforced by eslint.config.js (`no-restricted-imports` per
// layer folder). Each case lints a one-line source under a made-up path of the real tree, so the test
// proves the rule fires for every forbidden direction and stays quiet for the allowed ones.
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

/** The `no-restricted-imports` messages for `code` as if it were the file at `filePath`. */
async function layeringErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\n`, { filePath });
  // A source that does not parse reports no rule at all; that must not pass as "allowed".
  expect(result!.fatalErrorCount, JSON.stringify(result!.messages)).toBe(0);
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const SVC = 'internal/course-service';

describe('layering lint', () => {
  it.each([
    ['controller → repository', `${SVC}/controllers/x_controller.ts`, "import { x } from '../repository/course_repository.js';"],
    ['controller → router', `${SVC}/controllers/x_controller.ts`, "import { x } from '../routers/course_router.js';"],
    ['controller → app.ts', 'internal/auth-service/controllers/x_controller.ts', "import { x } from '../app.js';"],
    ['router → repository', `${SVC}/routers/x_router.ts`, "import { x } from '../repository/course_repository.js';"],
    ['middleware → repository', `${SVC}/middleware/x.ts`, "import { x } from '../repository/course_repository.js';"],
    ['service → controller', `${SVC}/services/x_service.ts`, "import { x } from '../controllers/course_controller.js';"],
    ['service → router', `${SVC}/services/x_service.ts`, "import { x } from '../routers/course_router.js';"],
    ['service → fastify', `${SVC}/services/x_service.ts`, "import { x } from 'fastify';"],
    ['service → shared middleware', `${SVC}/services/x_service.ts`, "import { x } from '../../shared/middleware/authenticate.js';"],
    ['nested service → router', 'internal/auth-service/services/mail/x.ts', "import { x } from '../../routers/auth_router.js';"],
    ['repository → service', `${SVC}/repository/x_repository.ts`, "import { x } from '../services/course_service.js';"],
    ['repository → service (type only)', `${SVC}/repository/x_repository.ts`, "import type { x } from '../services/course_service.js';"],
    ['repository → controller', `${SVC}/repository/x_repository.ts`, "import { x } from '../controllers/course_controller.js';"],
    ['model → repository', `${SVC}/models/x.ts`, "import { x } from '../repository/course_repository.js';"],
    ['model → service', `${SVC}/models/x.ts`, "import { x } from '../services/course_service.js';"],
    ['shared → service folder', 'internal/shared/utils/x.ts', "import { x } from '../../course-service/services/course_service.js';"],
    ['shared → service settings', 'internal/shared/x.ts', "import { x } from '../auth-service/config.js';"],
    ['shared → a future service', 'internal/shared/middleware/x.ts', "import { x } from '../../learning-service/models/lesson.js';"],
    ['shared → re-export from a service', 'internal/shared/utils/x.ts', "export { x } from '../../auth-service/models/user.js';"],
  ])('refuses %s', async (_name, filePath, code) => {
    const errors = await layeringErrors(filePath, code);
    expect(errors, `${filePath}: ${code}`).not.toHaveLength(0);
    for (const message of errors) expect(message).toMatch(/ must not import /);
  });

  it.each([
    ['router → controller, service, middleware, models, shared', `${SVC}/routers/x_router.ts`, [
      "import { a } from '../controllers/course_controller.js';",
      "import { b } from '../services/cache/cache_scopes.js';",
      "import { c } from '../middleware/response_cache.js';",
      "import { d } from '../models/course.js';",
      "import { e } from '../../shared/middleware/authenticate.js';",
    ]],
    ['controller → service, models, shared', `${SVC}/controllers/x_controller.ts`, [
      "import { a } from '../services/course_service.js';",
      "import { b } from '../models/course.js';",
      "import { c } from '../../shared/utils/errors.js';",
    ]],
    ['service → service, repository, models, shared utils', `${SVC}/services/x_service.ts`, [
      "import { a } from './cache/cache_service.js';",
      "import { b } from '../repository/course_repository.js';",
      "import { c } from '../models/course.js';",
      "import { d } from '../../shared/utils/database.js';",
    ]],
    ['repository → models, shared utils', `${SVC}/repository/x_repository.ts`, [
      "import { a } from '../models/course.js';",
      "import { b } from '../../shared/utils/database.js';",
    ]],
    ['shared → shared', 'internal/shared/middleware/x.ts', [
      "import { a } from '../utils/errors.js';",
      "import { b } from '../server.js';",
      "import { c } from 'fastify';",
    ]],
    ['app.ts → everything of its service', `${SVC}/app.ts`, [
      "import { a } from './repository/course_repository.js';",
      "import { b } from './controllers/course_controller.js';",
      "import { c } from './routers/course_router.js';",
    ]],
    ['a test beside a repository → anything', `${SVC}/repository/x_repository.test.ts`, [
      "import { a } from '../services/course_service.js';",
    ]],
  ])('allows %s', async (_name, filePath, lines) => {
    expect(await layeringErrors(filePath, lines.join('\n'))).toEqual([]);
  });
});
