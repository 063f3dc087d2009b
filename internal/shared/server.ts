/**
 * The Fastify base both services stand on: request ids, JSON logs, schema validation (strict bodies),
 * problem+json errors, CORS, ETags, metrics, health and readiness, and the OpenAPI document with
 * Swagger UI at /docs. A service's `app.ts` calls `createServer` and registers its routers.
 */
import Fastify, { type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv, type Options as AjvOptions, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Registry } from 'prom-client';
import { lazyChildLoggerFactory, type Logger } from './utils/logging.js';
import { ProblemSchema, problems } from './utils/http_schemas.js';
import { etagHash } from './utils/etag.js';
import { CANONICAL_UUID, requestIdSource } from './utils/ids.js';
import { registerErrorHandling, sendProblem, toProblem } from './middleware/error_handler.js';
import { AccessLogController } from './middleware/access_log.js';
import { registerCors } from './middleware/cors.js';
import { registerMetrics } from './middleware/metrics.js';
import { guardRoute } from './middleware/input_guards.js';
import type { ErrorCode } from './utils/errors.js';
import { documentRoute } from './middleware/openapi_defaults.js';
import { registerOperations } from './middleware/operations.js';
import type { App, ReadinessCheck } from './app_types.js';

export type { App, ReadinessCheck };

export interface ServerOptions {
  service: string;
  version: string;
  description: string;
  logger: Logger;
  /** The access lines (config `log`): slow requests at warn, and the share of fast successes logged. */
  log?: { slowRequestMs: number; accessSample: number };
  http: {
    bodyLimit: number;
    corsOrigins: string[];
    /** Fastify's own meanings: a boolean, a hop count, or proxy addresses/CIDRs. */
    trustProxy: boolean | number | string[];
    /** Swagger UI and the document at /docs; `app.swagger()` works either way (the tests compare it). */
    docs?: boolean;
    /** A bearer token /metrics asks for; empty leaves it open. */
    metricsToken?: string;
  };
  /** Public base URL, shown in the OpenAPI `servers`. */
  publicUrl?: string;
  readiness: ReadinessCheck[];
  tags: { name: string; description: string }[];
  /** Adds the bearer security scheme to the document. */
  bearerAuth?: boolean;
  /** 401 codes the service's token check adds to the signature checks (documented on bearer routes). */
  tokenRefusals?: ErrorCode[];
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function makeAjv(options: AjvOptions): Ajv {
  const ajv = new Ajv({ allErrors: false, strict: false, useDefaults: true, ...options });
  addFormats(ajv);
  // Only the canonical form (ids.ts): ajv-formats' `uuid` also takes `urn:uuid:`, which PostgreSQL refuses.
  ajv.addFormat('uuid', CANONICAL_UUID);
  ajv.addKeyword('example');
  return ajv;
}

/**
 * Fastify 5 reads a bare number as "trust nobody" (a hop count cannot tell who is connecting), so a
 * hop count becomes the function proxy-addr calls for each address from the socket backwards: the
 * first `hops` are proxies, and the address before them is the client. Safe only where nothing but the
 * proxy can reach the port (README, "Behind a proxy").
 */
function trustProxyOption(setting: boolean | number | string[]): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof setting !== 'number') return setting;
  const hops = setting;
  return (_address, hop) => hop < hops;
}

/** Array items checked when a refused request is validated again for all its errors. */
const CHECKED_ITEMS = 101;

/**
 * A copy of refused input with every array cut to CHECKED_ITEMS (more than any schema's maxItems, so
 * that error stays): ajv with allErrors checks each item of an array even past maxItems, and a 64 KiB
 * body of 32,000 numbers cost 80 ms of event loop. Only as deep as a schema can reach.
 */
function bounded(value: unknown, depth = 0): unknown {
  if (depth > 8 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.slice(0, CHECKED_ITEMS).map((v) => bounded(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = bounded(v, depth + 1);
  return out;
}

/**
 * Validation that names every wrong field (the error handler sends at most 20): valid input takes the
 * fast path (stops at the first error, so the hot path costs what it did), and only refused input is
 * validated again, bounded, with allErrors, whose errors are reported.
 */
function namingEveryError(fast: Ajv, all: Ajv, schema: object): ValidateFunction {
  const first = fast.compile(schema);
  let every: ValidateFunction | undefined;
  const validate = ((data: unknown) => {
    if (first(data)) {
      validate.errors = null;
      return true;
    }
    every ??= all.compile(schema);
    every(bounded(data));
    validate.errors = every.errors?.length ? every.errors : first.errors;
    return false;
  }) as ValidateFunction;
  return validate;
}

export async function createServer(options: ServerOptions): Promise<App> {
  const newRequestId = requestIdSource();
  const accessLog = new AccessLogController(options.logger, options.log ?? { slowRequestMs: 1000, accessSample: 1 });
  const fastifyOptions: FastifyServerOptions = {
    loggerInstance: options.logger,
    // The per-request child logger is made on its first line, not for every request (logging.ts).
    childLoggerFactory: lazyChildLoggerFactory as unknown as FastifyServerOptions['childLoggerFactory'],
    // One access line per request instead of Fastify's pair (incoming, completed): access_log.ts.
    logController: accessLog,
    bodyLimit: options.http.bodyLimit,
    trustProxy: trustProxyOption(options.http.trustProxy),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : newRequestId();
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
  const bodyAllAjv = makeAjv({ coerceTypes: false, removeAdditional: false, allErrors: true });
  const queryAllAjv = makeAjv({ coerceTypes: 'array', removeAdditional: false, allErrors: true });
  for (const ajv of [bodyAjv, queryAjv, bodyAllAjv, queryAllAjv]) ajv.addSchema(ProblemSchema);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? namingEveryError(bodyAjv, bodyAllAjv, schema) : namingEveryError(queryAjv, queryAllAjv, schema),
  );

  app.addSchema(ProblemSchema);
  app.decorateRequest('principal', undefined);
  app.addHook('onRoute', (route) => {
    documentRoute(route.method, route.url, route.schema as Record<string, unknown> | undefined, options.tokenRefusals);
    // The input guards: 415 for an undocumented body type, 400 for text PostgreSQL cannot store.
    guardRoute(route as Parameters<typeof guardRoute>[0]);
  });
  registerErrorHandling(app);
  // The access lines of the last turn are written before the app reports itself closed.
  app.addHook('onClose', (_instance, done) => {
    accessLog.lines.flush();
    done();
  });

  // The one onSend hook every answer passes (callback style: an async hook costs a promise and a turn):
  // - the headers every answer carries: the request id, nosniff, and `no-store` unless the route said
  //   otherwise (cached GETs say `no-cache`);
  // - a strong ETag, `etagHash` of the bytes sent, unless the route set one (the response cache stores
  //   its tag with the answer, so a hit hashes nothing), and 304 when `If-None-Match` names it (what
  //   @fastify/etag did, with its comparison: exact, or either side weak);
  // - a 304 has no content (RFC 9110 section 15.4.5): Fastify would send it with the 200's Content-Type
  //   and `Content-Length: 0`, and a validating proxy refuses that.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    let tag = reply.getHeader('etag') as string | undefined;
    if (tag === undefined && (typeof payload === 'string' || Buffer.isBuffer(payload))) {
      tag = `"${etagHash(payload)}"`;
      reply.header('etag', tag);
    }
    const given = request.headers['if-none-match'];
    if (tag !== undefined && given !== undefined && (given === tag || given === 'W/' + tag || 'W/' + given === tag)) reply.code(304);
    if (reply.statusCode !== 304) return done(null, payload);
    reply.removeHeader('content-type');
    reply.removeHeader('content-length');
    done(null, null);
  });

  registerCors(app, options.http.corsOrigins);

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
  if (options.http.docs !== false) {
    await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true, tryItOutEnabled: false } });
  }

  registerOperations(app, options.readiness, registry, { metricsToken: options.http.metricsToken ?? '' });
  return app;
}

export { problems };
