/** isUuid: the ids the services accept in paths and queries (a pure unit). */
import { describe, expect, it } from 'vitest';
import { isUuid, newId } from '../../internal/shared/utils/ids.js';

describe('isUuid', () => {
  it('accepts RFC 9562 versions 1 to 8 in either case, and the max UUID', () => {
    expect(isUuid(newId())).toBe(true);
    expect(isUuid('018AF58D-B168-7AB7-AA0B-7779550CB863')).toBe(true);
    expect(isUuid('9b2f4c1e-3d5a-4f6b-8c7d-0e1f2a3b4c5d')).toBe(true);
    expect(isUuid('ffffffff-ffff-ffff-ffff-ffffffffffff')).toBe(true);
  });

  it('refuses the nil UUID, version 0 or 9, a wrong variant, and anything not 36 characters of that shape', () => {
    expect(isUuid('00000000-0000-0000-0000-000000000000')).toBe(false);
    expect(isUuid('9b2f4c1e-3d5a-0f6b-8c7d-0e1f2a3b4c5d')).toBe(false);
    expect(isUuid('9b2f4c1e-3d5a-9f6b-8c7d-0e1f2a3b4c5d')).toBe(false);
    expect(isUuid('9b2f4c1e-3d5a-4f6b-cc7d-0e1f2a3b4c5d')).toBe(false);
    expect(isUuid('9b2f4c1e3d5a4f6b8c7d0e1f2a3b4c5d')).toBe(false);
    expect(isUuid(' 9b2f4c1e-3d5a-4f6b-8c7d-0e1f2a3b4c5d')).toBe(false);
    expect(isUuid('9b2f4c1e-3d5a-4f6b-8c7d-0e1f2a3b4c5d\n')).toBe(false);
    expect(isUuid('intro-to-rust')).toBe(false);
  });
});
