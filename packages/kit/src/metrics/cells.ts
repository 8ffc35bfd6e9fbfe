import type { Registry } from "prom-client";
import { Children } from "./children.js";

/**
 * Counters and histograms for the request path. prom-client hashes and validates a labels object on
 * every observation, also through a child from `labels()` (~2 µs each on this machine); here a series
 * is a cell found through nested maps by its label values, and an observation is a few additions.
 * The registry reads them like any prom-client metric (`get()`), so they share its `/metrics` text.
 */
interface Definition<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registry: Registry;
}

/** What the registry reads from a metric (prom-client's `get()` shape). */
export interface Collected {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: Array<{ labels: Record<string, string>; value: number; metricName?: string }>;
}

export interface CounterCell {
  value: number;
}

export interface HistogramCell {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

abstract class Cells<L extends string, C> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly aggregator = "sum" as const;
  protected readonly all: Array<{ labels: Record<string, string>; cell: C }> = [];
  private readonly children: Children<C>;

  constructor(definition: Definition<L>) {
    this.name = definition.name;
    this.help = definition.help;
    this.labelNames = definition.labelNames;
    this.children = new Children((values) => {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] ?? "";
      });
      const cell = this.create();
      this.all.push({ labels, cell });
      return cell;
    });
    definition.registry.registerMetric(this as never);
  }

  protected abstract create(): C;

  /** The cell of these label values, in `labelNames` order (1 to 4 labels). */
  cell(a: string, b?: string, c?: string, d?: string): C {
    if (b === undefined) return this.children.get1(a);
    if (c === undefined) return this.children.get2(a, b);
    if (d === undefined) return this.children.get3(a, b, c);
    return this.children.get4(a, b, c, d);
  }
}

export class FastCounter<L extends string> extends Cells<L, CounterCell> {
  readonly type = "counter" as const;

  protected create(): CounterCell {
    return { value: 0 };
  }

  async get(): Promise<Collected> {
    return {
      name: this.name,
      help: this.help,
      type: "counter",
      aggregator: this.aggregator,
      values: this.all.map(({ labels, cell }) => ({ labels, value: cell.value })),
    };
  }
}

export class FastHistogram<L extends string> extends Cells<L, HistogramCell> {
  readonly type = "histogram" as const;
  private readonly bounds: readonly number[];

  constructor(definition: Definition<L> & { buckets: readonly number[] }) {
    super(definition);
    this.bounds = [...definition.buckets].sort((x, y) => x - y);
  }

  protected create(): HistogramCell {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  observe(cell: HistogramCell, value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    cell.counts[i] = (cell.counts[i] as number) + 1;
    cell.sum += value;
    cell.count++;
  }

  async get(): Promise<Collected> {
    const values: Collected["values"] = [];
    for (const { labels, cell } of this.all) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += cell.counts[i] as number;
        const le = i < this.bounds.length ? String(this.bounds[i]) : "+Inf";
        values.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: cell.count, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: "histogram",
      aggregator: this.aggregator,
      values,
    };
  }
}
