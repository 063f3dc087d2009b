import type { ErrorCode } from '../utils/errors.js';
import { problemResponse, problems, routeCodesOf } from '../utils/http_schemas.js';

type Schema = Record<string, unknown>;

/**
 * The codes the shared layers add to a problem status a route lists, from what its schema says: the
 * input guards and validators (400, 413, 415), the token check on routes with bearer security (401),
 * the role check on routes that require a token (403), the ETag check (412), the rate limiter (429).
 * `tokenRefusals` are the 401 codes the service's own token check adds (the auth-service's sessions).
 */
function sharedCodes(status: number, schema: Schema, tokenRefusals: readonly ErrorCode[]): ErrorCode[] {
  const security = (schema.security ?? []) as Record<string, unknown>[];
  const bearer = security.some((s) => 'bearerAuth' in s);
  const required = bearer && !security.some((s) => Object.keys(s).length === 0);
  const query = schema.querystring as { properties?: Schema } | undefined;
  switch (status) {
    case 400:
      return [
        'bad_request',
        ...(schema.body || schema.querystring || schema.params || schema.headers ? (['validation_failed'] as const) : []),
        ...(schema.body ? (['malformed_json'] as const) : []),
        ...(query?.properties?.cursor ? (['invalid_cursor'] as const) : []),
      ];
    case 401:
      return bearer ? [...(required ? (['unauthorized'] as const) : []), 'invalid_token', 'token_expired', ...tokenRefusals] : [];
    case 403:
      return required ? ['forbidden'] : [];
    case 412:
      return ['precondition_failed'];
    case 413:
      return ['payload_too_large'];
    case 415:
      return ['unsupported_media_type'];
    case 429:
      return ['rate_limited'];
    case 503:
      return ['service_unavailable'];
    default:
      return [];
  }
}

/**
 * Fills what every documented operation needs: an operationId (for generated clients), an explicit
 * `security: []` on public routes, so the document says which routes need a token, and for each problem
 * status the codes it can carry: the route's own (`problems()`) and those of the shared layers.
 */
export function documentRoute(method: string | string[], url: string, schema: Schema | undefined, tokenRefusals: readonly ErrorCode[] = []): void {
  if (!schema || schema.hide) return;
  if (!('security' in schema)) schema.security = [];
  const response = schema.response as Record<string, unknown> | undefined;
  if (response) {
    // Any route can meet a database outage: 503 with Retry-After, documented once for all.
    if (!response['503'] && !String(url).match(/^\/(healthz|metrics)$/)) response['503'] = problems({ 503: [] })[503];
    for (const [status, answer] of Object.entries(response)) {
      const own = routeCodesOf.get(answer as object);
      if (!own) continue;
      const codes = [...new Set([...sharedCodes(Number(status), schema, tokenRefusals), ...own])];
      // A new object: one `problems()` answer may be shared by several routes (pages_router.ts).
      response[status] = problemResponse(codes, status === '503' ? 'A dependency is unavailable; retry after Retry-After seconds' : undefined);
    }
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
