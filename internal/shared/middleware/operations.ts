/** The operational routes every service serves: /healthz, /readyz and /metrics. */
import { Type } from '@sinclair/typebox';
import type { Registry } from 'prom-client';
import type { App, ReadinessCheck } from '../server.js';

export function registerOperations(app: App, checks: ReadinessCheck[], registry: Registry): void {
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
