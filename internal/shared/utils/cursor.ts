/**
 * Opaque page cursors: base64url JSON tagged with the list (and sort) they belong to, so a cursor from
 * another list or sort, or a forged one, is a clear 400 `invalid_cursor` rather than a wrong page.
 */
import { HttpError } from './errors.js';

export function encodeCursor(kind: string, values: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ k: kind, v: values })).toString('base64url');
}

export function decodeCursor<T>(cursor: string, kind: string, isValid: (v: unknown) => v is T): T {
  const bad = () => HttpError.badRequest('invalid_cursor', 'The cursor is not valid for this list', [{ path: 'querystring.cursor', message: 'is not a valid cursor' }]);
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  const p = parsed as { k?: unknown; v?: unknown } | null;
  if (!p || typeof p !== 'object' || p.k !== kind || typeof p.v !== 'object' || p.v === null || !isValid(p.v)) throw bad();
  return p.v;
}
