/**
 * Prometheus metrics: one registry per app (tests build many apps in one process).
 *
 * `http_request_duration_seconds` by method, route pattern and status: each route binds its series when
 * it is registered (`onRoute`), one per status it answers with, so recording an answer is a lookup in a
 * small array and a few additions (utils/metric_series.ts), not a label object hashed per request.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { SeriesHistogram, type HistogramSeries } from '../utils/metric_series.js';

export function registerMetrics(app: FastifyInstance, registry: Registry, service: string): void {
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const duration = new SeriesHistogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registry,
  });

  /** A route's series by method and status, bound on the first answer with that status. */
  const recorder = (route: string) => {
    const byStatus = new Map<string, HistogramSeries[]>();
    return (method: string, status: number, ms: number) => {
      let list = byStatus.get(method);
      if (list === undefined) byStatus.set(method, (list = []));
      const series = (list[status] ??= duration.series({ method, route, status_code: String(status) }));
      series.observe(ms / 1000);
    };
  };

  // Each route observes with its pattern (not the URL, so ids do not explode the label set), known when
  // it is registered; requests that match no route are `unmatched`.
  app.addHook('onRoute', (route) => {
    const record = recorder(route.url);
    const hook: OnResponseHook = (request, reply, done) => {
      record(request.method, reply.statusCode, reply.elapsedTime);
      done();
    };
    const own = route.onResponse as OnResponseHook | OnResponseHook[] | undefined;
    route.onResponse = [...(own === undefined ? [] : Array.isArray(own) ? own : [own]), hook] as typeof route.onResponse;
  });
  const unmatched = recorder('unmatched');
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) unmatched(request.method, reply.statusCode, reply.elapsedTime);
    done();
  });
}

type OnResponseHook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => void;
