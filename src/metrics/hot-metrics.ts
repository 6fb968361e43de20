import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms for the per-request path, exposed through a prom-client registry.
 *
 * A prom-client child validates and hashes its labels on every `inc`/`observe` (a few µs per request
 * across the decision, cache and store metrics; issue 8's profiles). Here a label set is bound once
 * to a cell of plain numbers; the registry reads the cells at scrape time in exactly the shape
 * prom-client's own Counter and Histogram produce (test/metrics/hot-metrics.test.ts compares the
 * text byte for byte), so /metrics, promtool and the dashboards see no difference.
 */

export interface CounterCell {
  inc(value?: number): void;
}
export interface HistogramCell {
  observe(value: number): void;
}

interface Series<C> {
  readonly labels: Record<string, string>;
  readonly cell: C;
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
  sharedLabels?: Record<string, string>;
  /** prom-client's buckets carry one (null without exemplars); kept so JSON matches too. */
  exemplar?: null;
}

interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

interface HotOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly registry: Registry;
}

/** The part of prom-client's metric contract its Registry uses: name, type, get(), reset(). */
abstract class HotMetric<C> {
  readonly name: string;
  readonly help: string;
  readonly aggregator = 'sum' as const;
  abstract readonly type: 'counter' | 'histogram';
  readonly #labelNames: readonly string[];
  #series = new Map<string, Series<C>>();

  constructor(options: HotOptions) {
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    options.registry.registerMetric(this as unknown as Metric);
  }

  /** The cell for these label values (in `labelNames` order), made on first use. Bind once, keep it. */
  cell(...values: string[]): C {
    if (values.length !== this.#labelNames.length)
      throw new Error(`${this.name}: ${this.#labelNames.length} label values expected, got ${values.length}`);
    const key = JSON.stringify(values);
    let series = this.#series.get(key);
    if (!series) {
      const labels: Record<string, string> = {};
      this.#labelNames.forEach((name, i) => {
        labels[name] = values[i]!;
      });
      series = { labels, cell: this.newCell() };
      this.#series.set(key, series);
    }
    return series.cell;
  }

  reset(): void {
    for (const series of this.#series.values()) this.clear(series.cell);
  }

  /** For the text exposition: the registry formats `labels` then `sharedLabels`. */
  async getForPromString(): Promise<MetricData> {
    const values: MetricValue[] = [];
    for (const series of this.#series.values()) this.export(series, values);
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** For JSON (and prom-client's cluster aggregation): labels in one object, as prom-client's get(). */
  async get(): Promise<MetricData> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ labels, sharedLabels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
    }));
    return data;
  }

  protected abstract newCell(): C;
  protected abstract clear(cell: C): void;
  protected abstract export(series: Series<C>, into: MetricValue[]): void;
}

class Count implements CounterCell {
  value = 0;
  inc(value = 1): void {
    if (!(value >= 0) || !Number.isFinite(value)) throw new TypeError(`counter increment ${value}: not >= 0`);
    this.value += value;
  }
}

export class HotCounter extends HotMetric<Count> {
  readonly type = 'counter' as const;
  protected newCell(): Count {
    return new Count();
  }
  protected clear(cell: Count): void {
    cell.value = 0;
  }
  protected export(series: Series<Count>, into: MetricValue[]): void {
    into.push({ value: series.cell.value, labels: { ...series.labels } });
  }
}

class Distribution implements HistogramCell {
  readonly bounds: readonly number[];
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`histogram value ${value}: not a finite number`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class HotHistogram extends HotMetric<Distribution> {
  readonly type = 'histogram' as const;
  readonly #bounds: readonly number[];
  constructor(options: HotOptions & { readonly buckets: readonly number[] }) {
    super(options);
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
  }
  protected newCell(): Distribution {
    return new Distribution(this.#bounds);
  }
  protected clear(cell: Distribution): void {
    cell.counts.fill(0);
    cell.sum = 0;
    cell.count = 0;
  }
  protected export({ labels, cell }: Series<Distribution>, into: MetricValue[]): void {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    this.#bounds.forEach((le, i) => {
      cumulative += cell.counts[i]!;
      into.push({
        labels: { le },
        sharedLabels: labels,
        value: cumulative,
        metricName: bucket,
        exemplar: null,
      });
    });
    into.push(
      { labels: { le: '+Inf' }, sharedLabels: labels, value: cell.count, metricName: bucket, exemplar: null },
      { labels: {}, sharedLabels: labels, value: cell.sum, metricName: `${this.name}_sum` },
      { labels: {}, sharedLabels: labels, value: cell.count, metricName: `${this.name}_count` },
    );
  }
}
