/** Schemas both services share: problem details, pages, enums. */
import { Type, type TSchema, type Static } from '@sinclair/typebox';
import { ERROR_CODES, type ErrorCode } from './errors.js';

/** `Problem.code`: the closed list of errors.ts as an enum, each code with its meaning. */
const ErrorCodeSchema = StringEnum(Object.keys(ERROR_CODES) as ErrorCode[], {
  description: `Stable machine-readable error code:\n${Object.entries(ERROR_CODES)
    .map(([code, meaning]) => `- \`${code}\`: ${meaning}`)
    .join('\n')}`,
  examples: ['validation_failed'],
});

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ format: 'uri' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    code: ErrorCodeSchema,
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    reviewId: Type.Optional(Type.String({ format: 'uuid', description: '`review_exists`: the review the caller already wrote (edit it instead)' })),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
);

export const ProblemRef = Type.Ref('Problem');

/** An error status a route documents. */
export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 429 | 503;

/** The codes a route answers with, per status; `[]` for a status only the shared layers answer. */
export type RouteCodes = Partial<Record<ProblemStatus, readonly ErrorCode[]>>;

/** The route's own codes of each problem answer, for `documentRoute` to add the shared layers' codes. */
export const routeCodesOf = new WeakMap<object, readonly ErrorCode[]>();

/**
 * Problem answers for a route's `response` schema: per status, the codes the route's own code can
 * answer with (its controller, service and repository). The codes every route of a kind gets from the
 * shared layers (validation, body parsing, authentication, If-Match) are added when the route is
 * registered (openapi_defaults.ts), so they are not written here.
 */
export function problems(codes: RouteCodes): Record<number, { description: string; content: Record<string, { schema: TSchema }> }> {
  return Object.fromEntries(
    Object.entries(codes).map(([status, own]) => {
      const response = problemResponse(own);
      routeCodesOf.set(response, own);
      return [status, response];
    }),
  );
}

/** A problem answer whose `code` is one of `codes`. */
export function problemResponse(codes: readonly ErrorCode[], summary = 'Problem details'): { description: string; content: Record<string, { schema: TSchema }> } {
  const schema = { allOf: [{ $ref: 'Problem#' }, { type: 'object', required: ['code'], properties: { code: { type: 'string', enum: [...codes] } } }] } as unknown as TSchema;
  return {
    description: `${summary}; \`code\`: ${codes.map((c) => `\`${c}\``).join(', ')}`,
    content: { 'application/problem+json': { schema } },
  };
}

/** A string enum that OpenAPI 3.1 shows as `enum`, typed as a union. */
export function StringEnum<T extends string>(values: readonly T[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

export const Uuid = Type.String({ format: 'uuid' });
export const IdParams = Type.Object({ id: Uuid });
export type IdParams = Static<typeof IdParams>;

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'Opaque cursor from a previous page' })),
};

export function Page<T extends TSchema>(item: T, options: Record<string, unknown> = {}) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) }, options);
}

export const Timestamp = Type.String({ format: 'date-time' });

/**
 * A `preValidation` hook for routes whose body is optional: Fastify validates a missing body as
 * `undefined`, which no object schema accepts, so "no body" is read as `{}`. A JSON `null` is a body,
 * and not an object: the schema refuses it.
 */
export async function missingBodyAsEmpty(request: { body: unknown }): Promise<void> {
  if (request.body === undefined) request.body = {};
}

/** The optional `If-Match` of a conditional write (RFC 9110 13.1.1): 412 when the resource changed. */
export const IfMatchHeader = Type.Object({
  'if-match': Type.Optional(
    Type.String({
      maxLength: 1024,
      description: 'Apply the change only if the resource still has this ETag (from a GET or an earlier write); 412 otherwise',
    }),
  ),
});
