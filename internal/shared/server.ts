/**
 * The Fastify base both services stand on: request ids, JSON logs, schema validation (strict bodies),
 * problem+json errors, CORS, ETags, metrics, health and readiness, and the OpenAPI document with
 * Swagger UI at /docs. A service's `app.ts` calls `createServer` and registers its routers.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import etag from '@fastify/etag';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Registry } from 'prom-client';
import type { Logger } from './utils/logging.js';
import { ProblemSchema, problems } from './utils/http_schemas.js';
import { etagHash } from './utils/etag.js';
import { HttpError, type FieldError } from './utils/errors.js';
import { registerErrorHandling, sendProblem, toProblem } from './middleware/error_handler.js';
import { registerCors } from './middleware/cors.js';
import { registerMetrics } from './middleware/metrics.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export interface ReadinessCheck {
  name: string;
  /** A critical check that fails makes /readyz answer 503; a non-critical one reports `degraded`. */
  critical: boolean;
  check(): Promise<void>;
}

export interface ServerOptions {
  service: string;
  version: string;
  description: string;
  logger: Logger;
  http: { bodyLimit: number; corsOrigins: string[]; trustProxy: boolean };
  /** Public base URL, shown in the OpenAPI `servers`. */
  publicUrl?: string;
  readiness: ReadinessCheck[];
  tags: { name: string; description: string }[];
  /** Adds the bearer security scheme to the document. */
  bearerAuth?: boolean;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function makeAjv(options: AjvOptions): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, ...options });
  addFormats(ajv);
  ajv.addKeyword('example');
  return ajv;
}

export async function createServer(options: ServerOptions): Promise<App> {
  const fastifyOptions: FastifyServerOptions = {
    loggerInstance: options.logger,
    bodyLimit: options.http.bodyLimit,
    trustProxy: options.http.trustProxy,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    // Errors the router raises before any route (a badly encoded URL, an over-long path parameter)
    // are problem+json like every other refusal, not Fastify's own JSON.
    frameworkErrors: (err, request, reply) => {
      const { problem, headers } = toProblem(err, request.id);
      // No onSend hook runs on this path: set the headers every other answer gets from it.
      reply.header('x-request-id', request.id).header('x-content-type-options', 'nosniff').header('cache-control', 'no-store');
      return sendProblem(reply, problem, headers);
    },
  } as FastifyServerOptions;
  const app = Fastify(fastifyOptions).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  // A JSON API: Fastify reads text/plain bodies by default; refuse them with 415 like any other
  // type a route does not take, rather than validating a string against an object schema.
  app.removeContentTypeParser('text/plain');

  // Bodies are checked strictly: no type coercion, unknown fields rejected (no mass assignment).
  // Query strings and path parameters arrive as text, so they are coerced.
  const bodyAjv = makeAjv({ coerceTypes: false, removeAdditional: false });
  const queryAjv = makeAjv({ coerceTypes: 'array', removeAdditional: false });
  for (const ajv of [bodyAjv, queryAjv]) ajv.addSchema(ProblemSchema);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : queryAjv).compile(schema));

  app.addSchema(ProblemSchema);
  app.decorateRequest('principal', undefined);
  app.addHook('onRoute', (route) => documentRoute(route.method, route.url, route.schema as Record<string, unknown> | undefined));
  registerErrorHandling(app);

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // preParsing: after the routes' own onRequest hooks (authentication), before the body is read.
  app.addHook('preParsing', refuseUndocumentedBodyType);
  app.addHook('preValidation', refuseUnstorableText);
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });

  await registerCors(app, options.http.corsOrigins);
  await app.register(etag, { hashFn: etagHash });

  const registry = new Registry();
  app.decorate('metrics', registry);
  registerMetrics(app, registry, options.service);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: options.service, version: options.version, description: options.description, license: { name: 'UNLICENSED (proprietary)', identifier: 'LicenseRef-Proprietary' } },
      servers: options.publicUrl ? [{ url: options.publicUrl }] : [],
      tags: [...options.tags, { name: 'operations', description: 'Health, readiness and metrics' }],
      components: options.bearerAuth
        ? { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } }
        : {},
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true, tryItOutEnabled: false } });

  registerOperations(app, options.readiness, registry);
  return app;
}

/**
 * A body in a media type the route does not document is refused (415) before it is parsed: Fastify
 * parses every type it has a parser for on every route (forms, where a service registers them), and a
 * form is a "simple" cross-site request that skips the CORS preflight. Routes that take forms say so
 * in their schema's `consumes`.
 */
async function refuseUndocumentedBodyType(request: { headers: Record<string, unknown>; routeOptions: { schema?: unknown } }): Promise<void> {
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
async function refuseUnstorableText(request: { body: unknown; params: unknown; query: unknown; routeOptions: { schema?: unknown } }): Promise<void> {
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

/**
 * Fills what every documented operation needs: an operationId (for generated clients) and an explicit
 * `security: []` on public routes, so the document says which routes need a token.
 */
function documentRoute(method: string | string[], url: string, schema: Record<string, unknown> | undefined): void {
  if (!schema || schema.hide) return;
  if (!('security' in schema)) schema.security = [];
  // Any route can meet a database outage: 503 with Retry-After, documented once for all.
  const response = schema.response as Record<string, unknown> | undefined;
  if (response && !response['503'] && !String(url).match(/^\/(healthz|metrics)$/)) {
    response['503'] = { description: 'A dependency is unavailable; retry after Retry-After seconds', content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } } };
  }
  if (Array.isArray(schema.tags)) schema.tags = [...(schema.tags as string[])];
  if (!schema.operationId) {
    const words = url
      .replace(/^\/api\/v1\//, '/')
      .split(/[/.-]/)
      .filter(Boolean)
      .map((w) => (w.startsWith(':') ? `by-${w.slice(1)}` : w))
      .flatMap((w) => w.split('-'));
    const verb = (Array.isArray(method) ? method[0]! : method).toLowerCase();
    schema.operationId = [verb, ...words].map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
  }
}

function registerOperations(app: App, checks: ReadinessCheck[], registry: Registry): void {
  const Health = Type.Object({ status: Type.Literal('ok') });
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness', response: { 200: Health } }, logLevel: 'warn' }, async () => ({
    status: 'ok' as const,
  }));

  const Ready = Type.Object({
    status: Type.Unsafe<'ok' | 'degraded' | 'down'>({ type: 'string', enum: ['ok', 'degraded', 'down'] }),
    checks: Type.Record(Type.String(), Type.Unsafe<'ok' | 'down'>({ type: 'string', enum: ['ok', 'down'] })),
  });
  app.get(
    '/readyz',
    {
      schema: { tags: ['operations'], summary: 'Readiness: 503 when the database is unreachable', response: { 200: Ready, 503: Ready } },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      const results = await Promise.all(
        checks.map(async (c) => {
          try {
            await Promise.race([c.check(), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref())]);
            return [c, 'ok'] as const;
          } catch {
            return [c, 'down'] as const;
          }
        }),
      );
      const down = results.filter(([, s]) => s === 'down');
      const status: 'ok' | 'degraded' | 'down' = down.some(([c]) => c.critical) ? 'down' : down.length ? 'degraded' : 'ok';
      reply.code(status === 'down' ? 503 : 200);
      if (status === 'down') reply.header('retry-after', '5');
      return { status, checks: Object.fromEntries(results.map(([c, s]) => [c.name, s])) };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
      },
      logLevel: 'warn',
    },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
}

export { problems };
