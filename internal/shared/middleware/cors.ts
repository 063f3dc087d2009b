/**
 * CORS: closed by default; the allowed origins come from settings (`http.corsOrigins`): exact origins
 * (`https://app.example`), origins with any port (`http://localhost:*`, what `npm start` allows), or
 * `*` for any. An allowed origin is echoed (`*` answers `*`); credentials stay off: the API takes
 * bearer tokens in `Authorization`, never cookies, so a front end needs no `credentials: 'include'`.
 *
 * Every preflight (OPTIONS with `Access-Control-Request-Method`), on any path, is answered here with
 * 204 before routing, authentication or body parsing: with the CORS headers when the origin is
 * allowed, without them when it is not (the browser then refuses), and never 404.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = 'authorization, content-type, if-match, if-none-match, x-request-id';
const EXPOSED_HEADERS = 'etag, x-request-id, x-cache, retry-after, location';
const MAX_AGE = '600';

/** Decides whether an `Origin` header value is allowed; undefined when CORS is closed. */
export function originMatcher(origins: string[]): ((origin: string) => boolean) | undefined {
  if (origins.length === 0) return undefined;
  if (origins.includes('*')) return () => true;
  const exact = new Set<string>();
  const anyPort: string[] = [];
  for (const entry of origins.map((o) => o.toLowerCase())) {
    if (entry.endsWith(':*')) anyPort.push(entry.slice(0, -1));
    else exact.add(entry);
  }
  return (origin) => {
    const value = origin.toLowerCase();
    if (exact.has(value)) return true;
    // `http://localhost:` followed by a port only (not `http://localhost:1@evil.example`).
    return anyPort.some((prefix) => value.startsWith(prefix) && /^[0-9]{1,5}$/.test(value.slice(prefix.length)));
  };
}

export function registerCors(app: FastifyInstance, origins: string[]): void {
  const allowed = originMatcher(origins);
  const any = origins.includes('*');
  const varies = allowed !== undefined && !any;
  // A callback hook, first of all (see "Hot path" in the README): most requests carry no Origin.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    // The answer depends on the Origin whenever some origins are allowed and others not: said on every
    // answer, with or without an Origin, so a shared cache never hands one origin's answer to another.
    if (varies) reply.header('vary', 'Origin');
    const origin = request.headers.origin;
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (origin === undefined && !preflight) return done();
    const ok = allowed !== undefined && origin !== undefined && allowed(origin);
    if (ok) {
      reply.header('access-control-allow-origin', any ? '*' : origin);
      reply.header('access-control-expose-headers', EXPOSED_HEADERS);
    }
    if (!preflight) return done();
    if (ok) {
      reply.header('access-control-allow-methods', METHODS);
      reply.header('access-control-allow-headers', ALLOWED_HEADERS);
      reply.header('access-control-max-age', MAX_AGE);
    }
    // 204 has no body and no Content-Length (RFC 9110 section 8.6).
    reply.code(204).send();
  });
}
