/**
 * The runtime settings that the Docker image gives the services (ENV lines of the Dockerfile's last
 * stage: V8's heap flags in NODE_OPTIONS and glibc's MALLOC_ARENA_MAX), read from the Dockerfile so that
 * `npm start` and `npm run bench` run the services as the image does and cannot drift from it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../internal/shared/utils/paths.js';

const IMAGE_ENV_NAMES = ['NODE_OPTIONS', 'MALLOC_ARENA_MAX'];

export function imageEnv(dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')): Record<string, string> {
  const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const text = lastStage.replace(/\\\n/g, ' ');
  const env: Record<string, string> = {};
  for (const name of IMAGE_ENV_NAMES) {
    const m = new RegExp(`^ENV\\s.*?\\b${name}=("([^"]*)"|(\\S+))`, 'm').exec(text);
    if (!m) throw new Error(`The Dockerfile's last stage sets no ${name}: the services would not run as the image runs them`);
    env[name] = m[2] ?? m[3]!;
  }
  return env;
}
