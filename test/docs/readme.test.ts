/**
 * The README and the docs stand alone in a clone and keep saying true things that drift easily:
 * - no link or path that leaves the repository, and every relative link resolves;
 * - the README links docs/ARCHITECTURE.md, and every file that ARCHITECTURE.md names exists;
 * - the README's table of `npm ci` engine warnings names exactly the packages in package-lock.json whose
 *   `engines.node` excludes the Node version package.json allows as the lowest.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../internal/shared/utils/paths.js';

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const DOCS = ['README.md', 'CONTRIBUTING.md', 'docs/ARCHITECTURE.md', 'docs/security-standards.md', 'bench/README.md', 'deploy/README.md'];

/** Every file of the repository (relative paths), without what git ignores or installs. */
function repoFiles(dir = PROJECT_ROOT): string[] {
  const skip = new Set(['node_modules', 'dist', 'var', 'coverage', '.git']);
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (skip.has(entry.name)) return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? repoFiles(path) : [relative(PROJECT_ROOT, path)];
  });
}

const inside = (path: string) => !relative(PROJECT_ROOT, path).startsWith('..');

describe('README and docs', () => {
  it.each(DOCS)('%s: every relative link resolves inside the repository, and no path leaves it', (doc) => {
    const text = read(doc);
    const base = dirname(join(PROJECT_ROOT, doc));
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^(https?:|mailto:|#)/.test(l));
    for (const link of links) {
      const target = resolve(base, link.split('#')[0]!);
      expect(inside(target), `${doc} links ${link}, outside the repository`).toBe(true);
      expect(existsSync(target), `${doc} links ${link}, which does not exist`).toBe(true);
    }
    // `../x` in code spans: the README once pointed at ../shared/DESIGN.md, which a clone does not have.
    for (const [, path] of text.matchAll(/`(\.\.\/[^`\s]*)`/g)) {
      expect(inside(resolve(base, path!)), `${doc} names ${path}, outside the repository`).toBe(true);
    }
  });

  it('README links the architecture, and every file ARCHITECTURE.md names exists', () => {
    expect(read('README.md')).toContain('](docs/ARCHITECTURE.md)');
    const files = repoFiles();
    const named = [...read('docs/ARCHITECTURE.md').matchAll(/`([\w./-]+\/[\w.-]+\.(?:ts|md|yml|sql))`/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(10);
    // Paths are written from the repository root or from a service's folder (`services/review_service.ts`).
    for (const path of named) expect(files.some((f) => f === path || f.endsWith(`/${path}`)), path).toBe(true);
  });

  it('README links the contributing guide, and every file CONTRIBUTING.md names exists', () => {
    expect(read('README.md')).toContain('](CONTRIBUTING.md)');
    const files = repoFiles();
    const text = read('CONTRIBUTING.md');
    // Paths in code spans and links, from the repository root or a service's folder; `NNNN_name` and
    // `<service>` placeholders are patterns, not files.
    const named = [...text.matchAll(/[`(]([\w./-]+\/[\w.-]+\.(?:ts|md|yml|yaml|sql|json))[`)]/g)]
      .map((m) => m[1]!)
      .filter((path) => !/NNNN|<|\*/.test(path));
    expect(named.length).toBeGreaterThan(10);
    for (const path of named) expect(files.some((f) => f === path || f.endsWith(`/${path}`)), path).toBe(true);
    // The worked example quotes the code: every line of its TypeScript excerpts (but comments) is still
    // in one of the example's files, so an excerpt that stopped being true fails here.
    const example = ['models/course.ts', 'repository/course_repository.ts', 'services/course_service.ts', 'controllers/course_controller.ts', 'routers/course_router.ts']
      .map((f) => read(`internal/course-service/${f}`))
      .join('\n');
    const excerpts = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(excerpts.length).toBeGreaterThan(4);
    for (const line of excerpts.flatMap((e) => e.split('\n')).map((l) => l.trim())) {
      if (line && !line.startsWith('//')) expect(example.includes(line), `CONTRIBUTING.md quotes a line the code no longer has: ${line}`).toBe(true);
    }
  });

  it('names every package behind the npm ci engine warnings on the lowest Node we support', () => {
    const floor = semver.minVersion((JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node)!;
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node?: string } | string[] }> };
    const warned = new Set<string>();
    for (const [key, entry] of Object.entries(lock.packages)) {
      const range = entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
      if (key && range && !semver.satisfies(floor, range)) warned.add(key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length));
    }

    // The README's table: the rows after the paragraph about EBADENGINE, first column.
    const lines = read('README.md').split('\n');
    const start = lines.findIndex((l) => l.includes('EBADENGINE'));
    expect(start).toBeGreaterThan(-1);
    const first = lines.findIndex((l, i) => i > start && l.startsWith('|'));
    const end = lines.findIndex((l, i) => i > first && !l.startsWith('|'));
    const rows = lines.slice(first + 2, end); // after the header and the --- line
    const named = new Set(rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));

    expect(warned.size).toBeGreaterThan(0);
    expect([...named].sort()).toEqual([...warned].sort());
  });
});
