/**
 * The caching middleware of course-service: wraps the handler of a public GET route so that its answer
 * comes from `CacheService.getOrLoad` (Redis shared by the replicas, or memory in embedded mode).
 *
 * - Key: the route pattern plus its path parameters and query string *after* schema validation, sorted
 *   and with UUIDs lower-cased. Validation has applied defaults and coerced types, so `?limit=20` and no
 *   limit, or `minRating=4.0` and `minRating=4`, share one entry; unknown parameters never get here (400).
 * - Scopes: which writes make the entry stale (services/cache/cache_scopes.ts); built from the same
 *   normalised parameters, so `/courses/<UPPER-CASE-UUID>` hangs on the scope that writes bump.
 * - Viewer-dependent routes (a draft is visible to its owner, a hidden review to its author): a request
 *   with an `Authorization` header skips the cache and says `X-Cache: BYPASS`. Routes whose answer is
 *   the same for everyone (course search, categories) use the cache whoever asks.
 * - Every answer says `X-Cache: HIT|MISS|BYPASS` (BYPASS too when the cache is switched off) and carries
 *   `ETag: etagOf(value)`, which is the hash of the bytes sent (the schema serialises in DTO order), so a
 *   cached answer and a fresh one have the same tag, and a GET's tag is what `If-Match` is compared with.
 * - `Cache-Control: no-cache` (+ `Vary: Authorization` on viewer-dependent routes): clients may keep the
 *   answer but must revalidate (If-None-Match gives 304), and a shared cache never hands one viewer's
 *   answer to another.
 * - The hit path (`attach`): a URL the handler has seen is answered in the route's `onRequest` hook from
 *   the near cache, with the bytes and tag prepared once per entry, before validation and the handler
 *   (services/cache/README.md, "The hit path, and how a route opts in").
 * Errors are never cached (the loader throws; CacheService stores only values).
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { SeriesCounter, type CounterSeries } from '../../shared/utils/metric_series.js';
import { isUuid } from '../../shared/utils/ids.js';
import type { CacheService, NearLookup } from '../services/cache/cache_service.js';
import { etagHash, etagOf } from '../../shared/utils/etag.js';

export type CacheTtl = 'course' | 'list' | 'reviews' | 'categories';

/** The validated, normalised inputs of a request: what the key and the scopes are made of. */
export interface CacheInput {
  params: Record<string, string>;
  query: Record<string, unknown>;
}

export interface CachePolicy {
  /** Which TTL of the `cache` settings applies. */
  ttl: CacheTtl;
  /** The scopes the answer depends on (see services/cache/cache_scopes.ts). */
  scopes(input: CacheInput): string[];
  /** True when the answer depends on who asks: requests with a token then bypass the cache. */
  perViewer: boolean;
}

export type CacheOutcome = 'HIT' | 'MISS' | 'BYPASS';

/**
 * What a cache entry holds: the strong ETag, a newline, then the JSON text of the answer (JSON text
 * never holds a raw newline), stored as a plain string so a hit needs no parsing at all.
 */
function renderAnswer(body: string): string {
  return `"${etagHash(body)}"\n${body}`;
}

function splitAnswer(entry: string): { etag: string; body: string } {
  const cut = entry.indexOf('\n');
  return { etag: entry.slice(0, cut), body: entry.slice(cut + 1) };
}

/** A cached answer as a hit sends it: the tag, and the body already encoded (as the floor holds it). */
interface PreparedAnswer {
  etag: string;
  body: Buffer;
}

/** Made once per near-cache entry (NearCache.prepared), on its first hit. */
function prepareAnswer(entry: unknown): { prepared: PreparedAnswer; size: number } {
  const { etag, body } = splitAnswer(entry as string);
  const bytes = Buffer.from(body);
  return { prepared: { etag, body: bytes }, size: bytes.length };
}

/** Raw URLs remembered per route (oldest forgotten first): bounds what odd query strings can cost. */
const MAX_ALIASES = 10_000;

const CONTENT_TYPE = 'application/json; charset=utf-8';

/**
 * The state of one cached route: its policy, pattern, the outcome counters, and the raw URLs seen, each
 * with the near-cache handle of the key and scopes its validated inputs gave.
 */
class CachedRoute {
  route: string | undefined;
  readonly aliases = new Map<string, NearLookup>();
  readonly outcomes: Partial<Record<CacheOutcome, CounterSeries>> = {};

  constructor(readonly policy: CachePolicy) {}

  remember(url: string, alias: NearLookup): void {
    if (this.aliases.has(url)) return;
    if (this.aliases.size >= MAX_ALIASES) this.aliases.delete(this.aliases.keys().next().value!);
    this.aliases.set(url, alias);
  }
}

/** Marks a handler made by `ResponseCache.route`, so `attach` finds its route's state. */
const CACHED = Symbol('cachedRoute');
type MarkedHandler = { [CACHED]?: CachedRoute };

/** How the OpenAPI document describes the headers of a cached GET answer. */
export const CachedAnswerHeaders = {
  'x-cache': {
    type: 'string',
    enum: ['HIT', 'MISS', 'BYPASS'],
    description:
      'HIT: served from the response cache; MISS: loaded from the database (and cached); BYPASS: not cached ' +
      '(a request with a token on a route whose answer depends on the viewer, or the cache is off)',
  },
  etag: { type: 'string', description: 'Strong entity tag of the answer; send it back as If-None-Match (304) or If-Match (PATCH)' },
} as const;

/** A 200 answer of a cached GET route, for the route's `response` schema. */
export function cachedAnswer<T extends object>(schema: T, description: string) {
  return { description, headers: CachedAnswerHeaders, content: { 'application/json': { schema } } };
}

/** The 304 of a GET route (`If-None-Match` matched the current ETag). */
export const NotModified = { description: 'Not Modified: the If-None-Match tag is current; no body', type: 'null' } as const;

/** Sorted keys, no undefined members, UUIDs lower-cased: equal inputs give equal JSON text. */
function canonical(value: unknown): unknown {
  if (typeof value === 'string') return value.length === 36 && isUuid(value) ? value.toLowerCase() : value;
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonical(v);
    }
    return out;
  }
  return value;
}

/** Longer normalised inputs are hashed in the key (Redis keys stay short); shorter ones are the key. */
const KEY_TEXT_MAX = 160;

/** Adds `Authorization` to `Vary` without dropping what CORS put there. */
function varyOnAuthorization(reply: FastifyReply): void {
  const current = reply.getHeader('vary');
  if (current === undefined) {
    reply.header('vary', 'Authorization');
    return;
  }
  // What CORS says when some origins are allowed and others not (the usual production setting).
  if (current === 'Origin') {
    reply.header('vary', 'Origin, Authorization');
    return;
  }
  const list = (Array.isArray(current) ? current.join(',') : String(current ?? ''))
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (!list.some((v) => v.toLowerCase() === 'authorization')) list.push('Authorization');
  reply.header('vary', list.join(', '));
}

export class ResponseCache {
  private readonly outcomes: SeriesCounter | undefined;

  constructor(
    private readonly cache: CacheService,
    private readonly enabled: boolean,
    metrics?: Registry,
  ) {
    this.outcomes = metrics
      ? new SeriesCounter({ name: 'course_cache_answers_total', help: 'Cached GET answers by route and X-Cache outcome', registry: metrics })
      : undefined;
  }

  private count(state: CachedRoute, result: CacheOutcome): void {
    if (!this.outcomes) return;
    (state.outcomes[result] ??= this.outcomes.series({ route: state.route!, result })).inc();
  }

  /** The normalised key inputs of a request (after validation). */
  static input(request: FastifyRequest): CacheInput {
    return {
      params: canonical(request.params ?? {}) as Record<string, string>,
      query: canonical(request.query ?? {}) as Record<string, unknown>,
    };
  }

  /**
   * The entry key: the route pattern and its normalised parameters as JSON text, or a hash of that text
   * when it is long. `v3`: entries hold the tag and text as one raw string (v2 a JSON object, v1 the
   * DTO), so replicas of different versions sharing one Redis never read each other's entries during a
   * rolling update. The text starts with `{` and the digest with `=`, so the two forms never collide.
   */
  static key(route: string, input: CacheInput): string {
    const text = JSON.stringify(input);
    if (text.length <= KEY_TEXT_MAX) return `v3 GET ${route}#${text}`;
    return `v3 GET ${route}#=${createHash('sha256').update(text).digest('base64url')}`;
  }

  /**
   * Gives every route whose handler `route()` made its hit path: an `onRequest` hook, after the route's
   * own and the app's, that answers a hit there, before the body, validation and the route's other
   * hooks, which only a miss needs. Call it before the routers register their routes.
   *
   * The hook knows a request by its raw URL: the handler, which runs after validation, remembers each
   * URL it built a key for (`CachedRoute.remember`), so a URL seen before is known to be valid and to
   * give that key and those scopes, and its hit needs neither validation nor normalisation again. A URL
   * not seen yet, a near-cache miss, a request with a token on a viewer-dependent route, and HEAD take
   * the full way (the handler). A route gets the hook only if nothing but its URL decides its answer to
   * an anonymous caller: a GET without a body or header schema and without preHandler hooks.
   */
  attach(app: FastifyInstance): void {
    app.addHook('onRoute', (route) => {
      const state = (route.handler as MarkedHandler | undefined)?.[CACHED];
      if (state === undefined) return;
      state.route = route.url;
      if (!this.enabled || route.method !== 'GET') return;
      const schema = route.schema as { body?: unknown; headers?: unknown } | undefined;
      if (schema?.body !== undefined || schema?.headers !== undefined || hookCount(route.preHandler) > 0) return;
      const hit: OnRequestHook = (request, reply, done) => {
        if (state.policy.perViewer && request.headers.authorization !== undefined) return done();
        const lookup = state.aliases.get(request.url);
        if (lookup === undefined) return done();
        const answer = this.cache.peekPrepared(lookup, prepareAnswer);
        if (answer === undefined) return done();
        // Answered: the rest of the request's hooks and its handler do not run (no done()).
        this.sendHit(reply, state, answer);
      };
      const own = route.onRequest as OnRequestHook | OnRequestHook[] | undefined;
      route.onRequest = [...(own === undefined ? [] : Array.isArray(own) ? own : [own]), hit] as RouteOptions['onRequest'];
    });
  }

  /**
   * A route handler that answers `handler(request)` through the cache. The handler stays a thin
   * controller method (one service call); this decides whether to use the cache and sets the headers.
   * A hit from the near cache is sent at once (no promise, no extra turn of the event loop); anything
   * else goes to Redis and the database through `CacheService.fetchOrLoad`. One handler per route.
   */
  route<Req extends FastifyRequest, T>(policy: CachePolicy, handler: (request: Req) => Promise<T>) {
    const state = new CachedRoute(policy);
    const routeHandler = (request: Req, reply: FastifyReply): Promise<T | string> | undefined => {
      state.route ??= request.routeOptions.url!;
      if (!this.enabled || (policy.perViewer && request.headers.authorization !== undefined)) return this.bypass(request, reply, state, handler);
      // The entry is the answer as sent (its JSON text and tag), so a hit is sent as it is: no
      // parsing, serialising or hashing again. JSON.stringify of the DTO is what the schema
      // serialiser sends (DTO order; see etagOf), which the BYPASS path still uses.
      const input = ResponseCache.input(request);
      const scopes = policy.scopes(input);
      const key = ResponseCache.key(state.route, input);
      const lookup = state.aliases.get(request.url) ?? this.cache.nearLookup(scopes, key);
      state.remember(request.url, lookup);
      const near = this.cache.peekPrepared(lookup, prepareAnswer);
      if (near !== undefined) {
        this.sendHit(reply, state, near);
        return undefined;
      }
      return this.cache
        .fetchOrLoad<string>(scopes, key, this.cache.ttl[policy.ttl], async () => renderAnswer(JSON.stringify(await handler(request))))
        .then((result) => this.answer(reply, state, result.value, result.hit ? 'HIT' : 'MISS'));
    };
    (routeHandler as MarkedHandler)[CACHED] = state;
    return routeHandler;
  }

  private async bypass<Req extends FastifyRequest, T>(request: Req, reply: FastifyReply, state: CachedRoute, handler: (request: Req) => Promise<T>): Promise<T> {
    const answer = await handler(request);
    this.headers(reply, state, 'BYPASS', etagOf(answer));
    return answer;
  }

  /** Sends a prepared hit: its bytes and the headers of a cached answer. */
  private sendHit(reply: FastifyReply, state: CachedRoute, answer: PreparedAnswer): void {
    reply.header('content-type', CONTENT_TYPE);
    this.headers(reply, state, 'HIT', answer.etag);
    reply.send(answer.body);
  }

  /** Sets the headers of a cached answer (tag, then a newline, then the JSON text) and returns its text. */
  private answer(reply: FastifyReply, state: CachedRoute, entry: string, outcome: CacheOutcome): string {
    const { body, etag } = splitAnswer(entry);
    reply.header('content-type', CONTENT_TYPE);
    this.headers(reply, state, outcome, etag);
    return body;
  }

  private headers(reply: FastifyReply, state: CachedRoute, outcome: CacheOutcome, etag: string): void {
    this.count(state, outcome);
    reply.header('x-cache', outcome);
    reply.header('etag', etag);
    reply.header('cache-control', 'no-cache');
    if (state.policy.perViewer) varyOnAuthorization(reply);
  }
}

type OnRequestHook = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

function hookCount(hooks: unknown): number {
  return hooks === undefined ? 0 : Array.isArray(hooks) ? hooks.length : 1;
}
