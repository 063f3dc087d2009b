/** Prometheus metrics: one registry per app (tests build many apps in one process). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Registry, Histogram, collectDefaultMetrics } from 'prom-client';

export function registerMetrics(app: FastifyInstance, registry: Registry, service: string): void {
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // One child per label set, found by a string key: observing through a label object hashes it
  // every time. The set is small (routes x methods x statuses).
  const series = new Map<string, { observe(value: number): void }>();
  const observe = (method: string, route: string, status: number, ms: number) => {
    const key = `${method} ${status} ${route}`;
    let child = series.get(key);
    if (child === undefined) {
      child = duration.labels({ method, route, status_code: String(status) });
      series.set(key, child);
    }
    child.observe(ms / 1000);
  };
  // Each route observes with its pattern (not the URL, so ids do not explode the label set), known when
  // it is registered; requests that match no route are `unmatched`.
  app.addHook('onRoute', (route) => {
    const url = route.url;
    const hook: OnResponseHook = (request, reply, done) => {
      observe(request.method, url, reply.statusCode, reply.elapsedTime);
      done();
    };
    const own = route.onResponse as OnResponseHook | OnResponseHook[] | undefined;
    route.onResponse = [...(own === undefined ? [] : Array.isArray(own) ? own : [own]), hook] as typeof route.onResponse;
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) observe(request.method, 'unmatched', reply.statusCode, reply.elapsedTime);
    done();
  });
}

type OnResponseHook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => void;
