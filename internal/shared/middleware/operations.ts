/** The operational routes every service serves: /healthz, /readyz and /metrics. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Registry } from 'prom-client';
import type { App, ReadinessCheck } from '../app_types.js';
import { HttpError } from '../utils/errors.js';
import { problems } from '../utils/http_schemas.js';

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * `Authorization: Bearer <token>` for /metrics when `http.metricsToken` is set. Compared as SHA-256
 * digests in constant time, so neither the length nor a prefix of the token leaks through timing.
 */
function metricsGuard(token: string): ((authorization: string | undefined) => void) | undefined {
  if (!token) return undefined;
  const expected = digest(token);
  return (authorization) => {
    const given = /^Bearer +(\S+)$/i.exec(authorization ?? '')?.[1];
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new HttpError(401, 'unauthorized', { detail: 'Send the metrics token as a bearer token', headers: { 'www-authenticate': 'Bearer' } });
    }
  };
}

export function registerOperations(app: App, checks: ReadinessCheck[], registry: Registry, options: { metricsToken: string }): void {
  const guard = metricsGuard(options.metricsToken);
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
        description: 'Open by default; with `http.metricsToken` set (METRICS_TOKEN) it needs `Authorization: Bearer <token>`.',
        produces: ['text/plain'],
        response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...problems({ 401: ['unauthorized'] }) },
      },
      logLevel: 'warn',
    },
    async (request, reply) => {
      guard?.(request.headers.authorization);
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
}
