/** Request guards that run before validation: refusals the schemas cannot express. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, type FieldError } from '../utils/errors.js';

/**
 * A body in a media type the route does not document is refused (415) before it is parsed: Fastify
 * parses every type it has a parser for on every route (forms, where a service registers them), and a
 * form is a "simple" cross-site request that skips the CORS preflight. Routes that take forms say so
 * in their schema's `consumes`.
 */
export function refuseUndocumentedBodyType(schema: { body?: unknown; consumes?: string[] } | undefined, request: { headers: Record<string, unknown> }): void {
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
export function refuseUnstorableText(schema: { querystring?: unknown } | undefined, request: { body: unknown; params: unknown; query: unknown }): void {
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

type HookList<H> = H | H[] | undefined;
const prepend = <H>(hook: H, list: HookList<H>): H[] => [hook, ...(list === undefined ? [] : Array.isArray(list) ? list : [list])];

/**
 * Adds both guards to a route as its first own hooks (an `onRoute` hook calls it): a route's schema is
 * known here, so a request does not look it up, and a route without a body gets no body guard at all.
 * preParsing runs after the route's onRequest hooks (authentication), before the body is read.
 */
export function guardRoute(route: { schema?: unknown; preParsing?: HookList<PreParsingHook>; preValidation?: HookList<PreValidationHook> }): void {
  const schema = route.schema as { body?: unknown; consumes?: string[]; querystring?: unknown } | undefined;
  if (!schema) return;
  if (schema.body) {
    route.preParsing = prepend<PreParsingHook>((request, _reply, payload, done) => {
      try {
        refuseUndocumentedBodyType(schema, request);
        done(null, payload);
      } catch (err) {
        done(err as Error);
      }
    }, route.preParsing);
  }
  route.preValidation = prepend<PreValidationHook>((request, _reply, done) => {
    try {
      refuseUnstorableText(schema, request);
      done();
    } catch (err) {
      done(err as Error);
    }
  }, route.preValidation);
}

type PreParsingHook = (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err?: Error | null, payload?: unknown) => void) => void;
type PreValidationHook = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;
