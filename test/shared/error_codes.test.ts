/**
 * The error codes are one closed list (ERROR_CODES): the compiler refuses a code that is not in it, and
 * this test refuses a code in it that no code sends any more, so the list and its meanings stay exact.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../internal/shared/utils/errors.js';
import { PROJECT_ROOT } from '../../internal/shared/utils/paths.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('ERROR_CODES', () => {
  it('holds exactly the codes the services send: each is used outside the list itself', () => {
    const code = sources(join(PROJECT_ROOT, 'internal'))
      .map((file) => readFileSync(file, 'utf8'))
      // The list itself does not count as a use.
      .map((text) => text.replace(/export const ERROR_CODES = \{[\s\S]*?\n\} as const/, ''))
      .join('\n');
    const unused = Object.keys(ERROR_CODES).filter((c) => !code.includes(`'${c}'`));
    expect(unused).toEqual([]);
  });

  it('are snake_case, each with a meaning', () => {
    for (const [c, meaning] of Object.entries(ERROR_CODES)) {
      expect(c).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });
});
