/** Metric series bound once (internal/shared/utils/metric_series.ts): what a scrape shows, in prom-client's format. */
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesCounter, SeriesHistogram } from '../../internal/shared/utils/metric_series.js';

describe('SeriesHistogram and SeriesCounter', () => {
  it('write cumulative buckets, +Inf, sum and count per bound series, beside prom-client metrics of the same registry', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ service: 'test' });
    const histogram = new SeriesHistogram({ name: 'op_seconds', help: 'Op time', buckets: [0.01, 0.1, 1], registry });
    const fast = histogram.series({ route: '/a', status_code: '200' });
    expect(histogram.series({ route: '/a', status_code: '200' })).toBe(fast);
    for (const v of [0.005, 0.05, 0.5, 5]) fast.observe(v);
    histogram.series({ route: '/b', status_code: '404' }).observe(0.01);
    const counter = new SeriesCounter({ name: 'hits_total', help: 'Hits', registry });
    const hits = counter.series({ result: 'HIT' });
    hits.inc();
    hits.inc(2);
    new Counter({ name: 'plain_total', help: 'A prom-client counter', registers: [registry] }).inc();

    const text = await registry.metrics();
    expect(text).toContain('# TYPE op_seconds histogram');
    expect(text).toContain('op_seconds_bucket{le="0.01",route="/a",status_code="200",service="test"} 1');
    expect(text).toContain('op_seconds_bucket{le="0.1",route="/a",status_code="200",service="test"} 2');
    expect(text).toContain('op_seconds_bucket{le="1",route="/a",status_code="200",service="test"} 3');
    expect(text).toContain('op_seconds_bucket{le="+Inf",route="/a",status_code="200",service="test"} 4');
    expect(text).toContain('op_seconds_sum{route="/a",status_code="200",service="test"} 5.555');
    expect(text).toContain('op_seconds_count{route="/a",status_code="200",service="test"} 4');
    expect(text).toContain('op_seconds_bucket{le="0.01",route="/b",status_code="404",service="test"} 1');
    expect(text).toContain('# TYPE hits_total counter');
    expect(text).toContain('hits_total{result="HIT",service="test"} 3');
    expect(text).toContain('plain_total{service="test"} 1');

    registry.resetMetrics();
    fast.observe(0.05);
    const after = await registry.metrics();
    expect(after).toContain('op_seconds_count{route="/a",status_code="200",service="test"} 1');
    expect(after).toContain('hits_total{result="HIT",service="test"} 0');
  });
});
