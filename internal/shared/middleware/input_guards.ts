/** Request guards that run before validation: refusals the schemas cannot express. */
import { HttpError, type FieldError } from '../utils/errors.js';

/**
 * A body in a media type the route does not document is refused (415) before it is parsed: Fastify
 * parses every type it has a parser for on every route (forms, where a service registers them), and a
 * form is a "simple" cross-site request that skips the CORS preflight. Routes that take forms say so
 * in their schema's `consumes`.
 */
export function refuseUndocumentedBodyType(request: { headers: Record<string, unknown>; routeOptions: { schema?: unknown } }): void {
  const schema = request.routeOptions.schema as { body?: unknown; consumes?: string[] } | undefined;
  const type = request.headers['content-type'];
  if (!schema?.body || typeof type !== 'string') return;
  const accepted = schema.consumes ?? ['application/json'];
  if (!accepted.includes(type.split(';')[0]!.trim().toLowerCase())) {
    throw new HttpError(415, 'unsupported_media_type', { detail: `Send ${accepted.join(' or ')}` });
  }
}

// A UTF-16 surrogate without its pair.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const unstorable = (s: string): boolean => s.includes('\u0000') || LONE_SURROGATE.test(s);

/**
 * PostgreSQL cannot store NUL in text, and an unpaired surrogate is not Unicode (it fails as jsonb and
 * is silently replaced in text): such strings in a body, path or query are a 400, not a database error.
 */
export function refuseUnstorableText(request: { body: unknown; params: unknown; query: unknown; routeOptions: { schema?: unknown } }): void {
  const schema = request.routeOptions.schema as { querystring?: unknown } | undefined;
  if (!schema) return;
  const errors: FieldError[] = [];
  const parts: [string, unknown][] = [['body', request.body], ['params', request.params]];
  if (schema.querystring) parts.push(['querystring', request.query]);
  // Iterative: a body may nest deeply.
  const stack = parts.slice();
  while (stack.length && errors.length < 10) {
    const [path, value] = stack.pop()!;
    if (typeof value === 'string') {
      if (unstorable(value)) errors.push({ path, message: 'contains a NUL character or an unpaired surrogate' });
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push([`${path}.${i}`, v]));
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (unstorable(k)) errors.push({ path, message: 'has a field name with a NUL character or an unpaired surrogate' });
        stack.push([`${path}.${k}`, v]);
      }
    }
  }
  if (errors.length) throw HttpError.badRequest('validation_failed', 'The request does not match the schema', errors);
}
