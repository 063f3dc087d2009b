/** isUuid: the ids the services accept in paths and queries (a pure unit). */
import { describe, expect, it } from 'vitest';
import { isUuid, newId, requestIdSource } from '../../internal/shared/utils/ids.js';

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

describe('requestIdSource', () => {
  it('gives UUID-shaped ids, all different, from a prefix of its own (another process draws another)', () => {
    const a = requestIdSource();
    const b = requestIdSource();
    const ids = Array.from({ length: 1000 }, () => a());
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids.slice(0, 20)) expect(isUuid(id)).toBe(true);
    expect(ids[1]!.slice(-12)).toBe('000000000001');
    const other = b();
    expect(other.slice(0, 24)).not.toBe(ids[0]!.slice(0, 24));
  });
});
