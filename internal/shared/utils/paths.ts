/** The repository root (where package.json is), found the same way from sources and from dist/. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`No package.json above ${start}`);
    dir = up;
  }
  return dir;
}

export const PROJECT_ROOT = findRoot(import.meta.dirname);

export function migrationsDir(service: 'auth-service' | 'course-service'): string {
  return join(PROJECT_ROOT, 'migrations', service);
}
