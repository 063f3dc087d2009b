/** Pure pieces: cursors, slugs, ETags, rating deltas, the split of search text. */
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../internal/shared/utils/errors.js';
import { decodeCursor, encodeCursor } from '../../internal/shared/utils/cursor.js';
import { checkIfMatch, etagOf } from '../../internal/shared/utils/etag.js';
import { nextSlug, slugify } from '../../internal/course-service/services/slug.js';
import { ratingDelta } from '../../internal/course-service/services/review_service.js';
import { collapseDashes, splitSearchText } from '../../internal/course-service/repository/course_repository.js';

const ID = '0190a0b0-0000-7000-8000-000000000000';

describe('cursor', () => {
  it('round-trips the keyset values of its own sort', () => {
    const c = encodeCursor('courses:rating', ['4.50', 12, ID]);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(c, 'courses:rating', ['decimal', 'int', 'uuid'])).toEqual(['4.50', 12, ID]);
    expect(decodeCursor(undefined, 'courses:rating', ['decimal', 'int', 'uuid'])).toBeUndefined();
  });

  it.each([
    ['not base64', '%%%'],
    ['not json', Buffer.from('nope').toString('base64url')],
    ['an array', Buffer.from('[]').toString('base64url')],
    ['another sort', encodeCursor('courses:title', ['4.50', 12, ID])],
    ['too few values', encodeCursor('courses:rating', ['4.50', ID])],
    ['a string for an int', encodeCursor('courses:rating', ['4.50', '12', ID])],
    ['sql in a decimal', encodeCursor('courses:rating', ['4.5); DROP TABLE courses; --', 12, ID])],
    ['a bad uuid', encodeCursor('courses:rating', ['4.50', 12, 'x'])],
    ['an int out of range', encodeCursor('courses:rating', ['4.50', 2 ** 40, ID])],
  ])('refuses %s with 400 invalid_cursor', (_name, cursor) => {
    let err: unknown;
    try {
      decodeCursor(cursor, 'courses:rating', ['decimal', 'int', 'uuid']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_cursor' });
  });

  it('checks timestamps and floats', () => {
    expect(decodeCursor(encodeCursor('s', ['2024-01-01T00:00:00.000Z', '1e-20']), 's', ['timestamp', 'float'])).toBeTruthy();
    expect(() => decodeCursor(encodeCursor('s', ['2024-01-01', '0.1']), 's', ['timestamp', 'float'])).toThrow(HttpError);
    expect(() => decodeCursor(encodeCursor('s', ['2024-01-01T00:00:00.000Z', 'NaN']), 's', ['timestamp', 'float'])).toThrow(HttpError);
  });
});

describe('slug', () => {
  it.each([
    ['Hello, World!', 'hello-world'],
    ['  --Crème brûlée 101--  ', 'creme-brulee-101'],
    ['Программирование на Go', 'programmirovanie-na-go'],
    ['!!!', 'course'],
    ['日本語', 'course'],
  ])('%s -> %s', (title, slug) => {
    expect(slugify(title)).toBe(slug);
    expect(slug).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
  });

  it('keeps room for a suffix under 120 characters', () => {
    const s = slugify('word '.repeat(100));
    expect(s.length).toBeLessThanOrEqual(100);
    expect(s.endsWith('-')).toBe(false);
  });

  it('picks the next free numeric suffix', () => {
    expect(nextSlug('go', [])).toBe('go');
    expect(nextSlug('go', ['go'])).toBe('go-2');
    expect(nextSlug('go', ['go', 'go-2', 'go-7', 'go-basics'])).toBe('go-8');
  });
});

describe('etag', () => {
  it('is a strong tag of the DTO JSON, stable and sensitive to any change', () => {
    const tag = etagOf({ a: 1, b: [1, 2] });
    expect(tag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(etagOf({ a: 1, b: [1, 2] })).toBe(tag);
    expect(etagOf({ a: 1, b: [2, 1] })).not.toBe(tag);
  });

  it('follows If-Match: *, lists, weak tags never match', () => {
    const tag = etagOf({ x: 1 });
    expect(() => checkIfMatch(undefined, tag)).not.toThrow();
    expect(() => checkIfMatch('*', tag)).not.toThrow();
    expect(() => checkIfMatch(`"a", ${tag}`, tag)).not.toThrow();
    expect(() => checkIfMatch(`W/${tag}`, tag)).toThrow(expect.objectContaining({ status: 412 }));
    expect(() => checkIfMatch('"other"', tag)).toThrow(expect.objectContaining({ code: 'precondition_failed' }));
  });
});

describe('ratingDelta', () => {
  it('adds, removes and moves one review between buckets', () => {
    expect(ratingDelta(null, 4)).toEqual({ count: 1, sum: 4, buckets: [0, 0, 0, 1, 0] });
    expect(ratingDelta(2, null)).toEqual({ count: -1, sum: -2, buckets: [0, -1, 0, 0, 0] });
    expect(ratingDelta(5, 1)).toEqual({ count: 0, sum: -4, buckets: [1, 0, 0, 0, -1] });
    expect(ratingDelta(3, 3)).toEqual({ count: 0, sum: 0, buckets: [0, 0, 0, 0, 0] });
    expect(ratingDelta(null, null)).toEqual({ count: 0, sum: 0, buckets: [0, 0, 0, 0, 0] });
  });
});

describe('collapseDashes', () => {
  it.each([
    ['-'.repeat(40), '-'],
    [`${'- '.repeat(50)}x`, '- x'],
    ['python --java', 'python -java'],
    ['python -java -go', 'python -java -go'],
    ['e-commerce', 'e-commerce'],
  ])('%j becomes %j', (q, out) => {
    expect(collapseDashes(q)).toBe(out);
  });
});

describe('splitSearchText', () => {
  it.each([
    ['zymur', '', 'zymur'],
    ['machine lear', 'machine ', 'lear'],
    ['програм', '', 'програм'],
    ['"deploy with" zanz', '"deploy with" ', 'zanz'],
    ['e2e', '', 'e2e'],
    ['learn pyt', 'learn ', 'pyt'],
  ])('makes the last plain word of %j a prefix', (q, rest, prefix) => {
    expect(splitSearchText(q)).toEqual({ rest, prefix });
  });

  it.each([
    ['inside an open phrase', '"deploy with zanz'],
    ['a closed phrase', '"deploy with zanzibar"'],
    ['an exclusion', 'python -java'],
    ["websearch's or", 'python or jav'],
    ['a word joined by punctuation', 'node.js'],
    ['a hyphenated word', 'e-comm'],
    ['tsquery syntax', 'zym:*'],
    ['a quote', "zym'"],
    ['an operator', 'a | b &'],
    ['a word shorter than three characters', 'learn go'],
    ['one letter', 'p'],
    ['nothing', ''],
  ])('searches %s as written', (_name, q) => {
    expect(splitSearchText(q)).toEqual({ rest: q, prefix: undefined });
  });
});
