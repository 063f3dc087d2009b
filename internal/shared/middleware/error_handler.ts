/**
 * One error handler for both services: everything becomes RFC 9457 problem+json with a stable `code`.
 * 5xx details are logged with the request id and never sent.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError, problemType, titleFor, type ErrorCode, type FieldError, type Problem } from '../utils/errors.js';
import { isConnectionError } from '../utils/database.js';

// Fastify's own error codes that are the client's fault, with our stable codes.
const FASTIFY_CODES: Record<string, { status: number; code: ErrorCode; detail: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'malformed_json', detail: 'The body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'malformed_json', detail: 'The body is empty but declared as JSON' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large', detail: 'The body is larger than allowed' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', detail: 'Send application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request', detail: 'Content-Length does not match the body' },
  FST_ERR_CTP_INVALID_TYPE: { status: 400, code: 'bad_request', detail: 'Bad content type' },
  FST_ERR_BAD_URL: { status: 400, code: 'bad_request', detail: 'The URL is malformed' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 400, code: 'bad_request', detail: 'A path parameter is too long' },
  FST_ERR_ASYNC_CONSTRAINT: { status: 400, code: 'bad_request', detail: 'Bad request' },
};

/** At most this many field errors in one answer (the validators report all of them). */
export const MAX_FIELD_ERRORS = 20;

function validationErrors(err: FastifyError): FieldError[] {
  return (err.validation ?? []).slice(0, MAX_FIELD_ERRORS).map((v) => {
    const base = v.instancePath ? v.instancePath.replace(/^\//, '').replaceAll('/', '.') : '';
    const extra = (v.params as { additionalProperty?: string; missingProperty?: string } | undefined) ?? {};
    const field = extra.additionalProperty ?? extra.missingProperty;
    const where = err.validationContext ?? 'body';
    const path = [where, base, field].filter(Boolean).join('.');
    const message = extra.additionalProperty ? 'is not an allowed field' : (v.message ?? 'is invalid');
    return { path, message };
  });
}

export function toProblem(err: unknown, requestId: string): { problem: Problem; headers: Record<string, string>; internal: boolean } {
  const make = (status: number, code: ErrorCode, detail?: string, errors?: FieldError[], extensions?: Record<string, string>): Problem => ({
    // First, so no extension can replace a standard member.
    ...extensions,
    type: problemType(code),
    title: titleFor(status),
    status,
    ...(detail ? { detail } : {}),
    code,
    requestId,
    ...(errors && errors.length ? { errors } : {}),
  });

  if (err instanceof HttpError) {
    return { problem: make(err.status, err.code, err.status >= 500 ? undefined : err.detail, err.errors, err.status >= 500 ? undefined : err.extensions), headers: err.headers ?? {}, internal: err.status >= 500 };
  }
  const fe = err as FastifyError;
  if (fe?.validation) {
    return { problem: make(400, 'validation_failed', 'The request does not match the schema', validationErrors(fe)), headers: {}, internal: false };
  }
  const known = fe?.code ? FASTIFY_CODES[fe.code] : undefined;
  if (known) return { problem: make(known.status, known.code, known.detail), headers: {}, internal: false };
  if (isConnectionError(err)) {
    return { problem: make(503, 'service_unavailable', 'The database is unavailable; try again shortly'), headers: { 'retry-after': '5' }, internal: true };
  }
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { problem: make(fe.statusCode, 'bad_request', 'The request is not acceptable'), headers: {}, internal: false };
  }
  return { problem: make(500, 'internal_error', 'Something went wrong on our side'), headers: {}, internal: true };
}

export function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string>): FastifyReply {
  return reply.code(problem.status).headers(headers).type('application/problem+json; charset=utf-8').send(problem);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const { problem, headers, internal } = toProblem(err, request.id);
    if (internal) request.log.error({ err }, 'request failed');
    else if (problem.status >= 400) request.log.info({ code: problem.code, status: problem.status }, 'request refused');
    return sendProblem(reply, problem, headers);
  });
  app.setNotFoundHandler((request, reply) => {
    const problem: Problem = {
      type: problemType('not_found'),
      title: titleFor(404),
      status: 404,
      detail: `No route for ${request.method} ${request.url.split('?')[0]}`,
      code: 'not_found',
      requestId: request.id,
    };
    return sendProblem(reply, problem, {});
  });
}
