/**
 * Fills what every documented operation needs: an operationId (for generated clients) and an explicit
 * `security: []` on public routes, so the document says which routes need a token.
 */
export function documentRoute(method: string | string[], url: string, schema: Record<string, unknown> | undefined): void {
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
