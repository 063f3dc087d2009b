/**
 * Opaque keyset cursors: base64url of `{"s": <list and sort>, "k": [<keyset values>]}`. The values are
 * the sort columns of the last row of a page, id last (the tiebreaker). A cursor is checked strictly
 * before any SQL sees it: wrong shape, a different list or sort, or a value of the wrong type is
 * 400 `invalid_cursor`, never a database cast error.
 */
import { HttpError } from './errors.js';
import { isUuid } from './ids.js';

/** The type of one keyset value; all travel as JSON strings or integers. */
export type CursorValueKind = 'uuid' | 'timestamp' | 'decimal' | 'float' | 'int' | 'text';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DECIMAL = /^\d{1,3}(?:\.\d{1,4})?$/;
const FLOAT = /^-?\d+(?:\.\d+)?(?:e[-+]?\d+)?$/i;

function valid(kind: CursorValueKind, v: unknown): boolean {
  switch (kind) {
    case 'uuid':
      return typeof v === 'string' && isUuid(v);
    case 'timestamp':
      return typeof v === 'string' && ISO_MS.test(v) && !Number.isNaN(Date.parse(v));
    case 'decimal':
      return typeof v === 'string' && DECIMAL.test(v);
    case 'float':
      return typeof v === 'string' && v.length <= 32 && FLOAT.test(v);
    case 'int':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= -2147483648 && v <= 2147483647;
    case 'text':
      return typeof v === 'string' && v.length <= 400;
  }
}

export function encodeCursor(sort: string, values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify({ s: sort, k: values }), 'utf8').toString('base64url');
}

function invalid(detail: string): HttpError {
  return HttpError.badRequest('invalid_cursor', detail);
}

/**
 * Decodes a cursor made by `encodeCursor(sort, ...)` for the same `sort`, checking each value against
 * `kinds`. Returns undefined when there is no cursor (the first page).
 */
export function decodeCursor(cursor: string | undefined, sort: string, kinds: readonly CursorValueKind[]): (string | number)[] | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid('The cursor is not one this API issued');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('The cursor is not one this API issued');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid('The cursor is not one this API issued');
  const { s, k } = parsed as { s?: unknown; k?: unknown };
  if (typeof s !== 'string' || !Array.isArray(k)) throw invalid('The cursor is not one this API issued');
  if (s !== sort) throw invalid('The cursor belongs to a different list or sort order; start again without it');
  if (k.length !== kinds.length || !kinds.every((kind, i) => valid(kind, k[i]))) {
    throw invalid('The cursor is not one this API issued');
  }
  return k as (string | number)[];
}

/**
 * One keyset page from rows a repository read with `limit + 1`: the extra row only says that another
 * page exists, so the last page carries no dangling cursor. Items are the first `limit` rows; the next
 * cursor holds the keys (`keysOf`) of the last of them, bound to `sort`.
 */
export function keysetPage<R, T>(
  rows: readonly R[],
  limit: number,
  sort: string,
  toItem: (row: R) => T,
  keysOf: (row: R) => readonly (string | number)[],
): { items: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { items: page.map((row) => toItem(row)), nextCursor: rows.length > limit && last ? encodeCursor(sort, keysOf(last)) : null };
}
