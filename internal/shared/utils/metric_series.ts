/**
 * Prometheus metrics for the hot path: a histogram and a counter whose label sets are bound once
 * (`series(labels)`, e.g. one per route when the route is registered) and then recorded with plain
 * number arithmetic. prom-client's own `labels(...).observe()` validates and hashes the label object on
 * every call (about a microsecond each); these cost a few nanoseconds, and a scrape formats what they
 * hold in prom-client's output format (they are registered in the same Registry, beside its metrics).
 *
 * They implement the part of prom-client's metric interface that a Registry reads (`name`, `help`,
 * `type`, `aggregator`, `get()`, `reset()`), not more: use prom-client's classes anywhere else.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;
interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

abstract class SeriesMetric<S extends { labels: Labels }> {
  readonly aggregator = 'sum';
  protected readonly all = new Map<string, S>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'histogram' | 'counter',
    registry: Registry,
  ) {
    (registry as unknown as { registerMetric(m: unknown): void }).registerMetric(this);
  }

  protected abstract create(labels: Labels): S;
  protected abstract zero(series: S): void;
  protected abstract values(series: S): Value[];

  /** The series of these labels (made on first use, then the same object). Bind it once, record often. */
  series(labels: Labels): S {
    const key = JSON.stringify(labels);
    let series = this.all.get(key);
    if (series === undefined) {
      series = this.create({ ...labels });
      this.all.set(key, series);
    }
    return series;
  }

  async get(): Promise<{ name: string; help: string; type: string; values: Value[]; aggregator: string }> {
    const values: Value[] = [];
    for (const series of this.all.values()) values.push(...this.values(series));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** Zeroes every series (the bound ones stay bound). */
  reset(): void {
    for (const series of this.all.values()) this.zero(series);
  }
}

export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

/** A histogram (cumulative `le` buckets, `_sum`, `_count`, as prom-client writes them). */
export class SeriesHistogram extends SeriesMetric<HistogramSeries> {
  constructor(options: { name: string; help: string; buckets: number[]; registry: Registry }) {
    super(options.name, options.help, 'histogram', options.registry);
    this.bounds = [...options.buckets].sort((a, b) => a - b);
  }

  private readonly bounds: number[];

  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }

  protected zero(series: HistogramSeries): void {
    series.counts.fill(0);
    series.sum = 0;
    series.count = 0;
  }

  protected values(series: HistogramSeries): Value[] {
    const out: Value[] = [];
    let cumulative = 0;
    this.bounds.forEach((le, i) => {
      cumulative += series.counts[i]!;
      out.push({ labels: { le, ...series.labels }, value: cumulative, metricName: `${this.name}_bucket` });
    });
    out.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${this.name}_bucket` });
    out.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
    out.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    return out;
  }
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}

  inc(by = 1): void {
    this.value += by;
  }
}

/** A counter (name it `..._total`, as prom-client's Counter expects too). */
export class SeriesCounter extends SeriesMetric<CounterSeries> {
  constructor(options: { name: string; help: string; registry: Registry }) {
    super(options.name, options.help, 'counter', options.registry);
  }

  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }

  protected zero(series: CounterSeries): void {
    series.value = 0;
  }

  protected values(series: CounterSeries): Value[] {
    return [{ labels: series.labels, value: series.value }];
  }
}
