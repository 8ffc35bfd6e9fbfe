import { Gauge, Registry } from "prom-client";
import { type CounterCell, FastCounter, FastHistogram, type HistogramCell } from "./cells.js";
import { Children } from "./children.js";
import { BoundedLabel, OTHER, statusClass } from "./labels.js";
import { registerProcessSeries } from "./process.js";

/** Seconds; LLM calls run from milliseconds (a cached key, an embedding) to minutes (a long stream). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds to the first streamed token (OpenTelemetry GenAI's advice, cut at 30 s). */
const TTFT_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30];
/** Tokens per call (OpenTelemetry GenAI's advice: powers of four). */
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];
/** Seconds for a NATS request: sub-millisecond on a warm bus, up to the admin timeouts. */
const NATS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

export interface MetricsOptions {
  /** Register here (tests, or a process sharing one registry); default a new one. */
  registry?: Registry;
  /** Most distinct provider accounts and models labelled by name; the rest are `other`. */
  maxAccounts?: number;
  maxModels?: number;
  /** Also report the process's CPU, memory and event-loop series (`process_*`, `nodejs_*`): once per process. */
  defaultMetrics?: boolean;
}

/** The caches on ingress's request path. */
export type CacheName = "key" | "decision";
/** How a NATS request ended. */
export type NatsOutcome = "ok" | "error" | "timeout" | "no_responders";
/** Where usage records went: published to JetStream, refused by it, stored in Postgres, refused by it (retried). */
export type UsageStage = "published" | "publish_failed" | "stored" | "store_failed" | "rejected";
/** What acl did with a usage record's cost: counted against budgets, failed (redelivered), set aside for good. */
export type SpendStage = "counted" | "count_failed" | "rejected";
/** Why the provider transport tried again. */
export type RetryReason = "connect" | "status_429" | "status_5xx";
type RequestCells = {
  count: CounterCell;
  duration: HistogramCell;
  histogram: FastHistogram<"route" | "status_class" | "account" | "model">;
};

/**
 * Every Prometheus series Gatehouse registers, in one place (docs/observability.md lists them and
 * the dashboard test reads their names from here). One instance per registry: a process that runs
 * several services (`pnpm start`) shares one, so its `/metrics` shows them all; a service in its own
 * process has its own. Label values are bounded: route templates and subjects from the code,
 * status classes, catalog error codes, and account/model names only for configured ones (capped).
 */
export class GatehouseMetrics {
  readonly registry: Registry;
  readonly accounts: BoundedLabel;
  readonly models: BoundedLabel;
  private readonly routes = new BoundedLabel(256);
  private readonly subjects = new BoundedLabel(256);

  private readonly requestCells: Children<RequestCells>;
  private readonly cache: FastCounter<"cache" | "result">;
  private readonly nats: FastHistogram<"subject" | "outcome">;
  private readonly upstreamDuration: FastHistogram<"account" | "model" | "operation" | "status_class">;
  private readonly ttft: FastHistogram<"account" | "model" | "operation">;
  private readonly tokenUsage: FastHistogram<"account" | "model" | "operation" | "token_type">;
  private readonly costUsd: FastCounter<"account" | "model">;
  private readonly upstreamErrors: FastCounter<"account" | "error_type">;
  private readonly retries: FastCounter<"account" | "reason">;
  private readonly usageRecords: FastCounter<"stage">;
  private readonly spendRecords: FastCounter<"stage">;
  private readonly gauges = new Map<string, Set<() => number | Promise<number>>>();

  constructor(options: MetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    this.accounts = new BoundedLabel(options.maxAccounts ?? 200);
    this.models = new BoundedLabel(options.maxModels ?? 500);
    if (options.defaultMetrics) registerProcessSeries(registry);

    const requestLabels = ["route", "status_class", "account", "model"] as const;
    const requests = new FastCounter({
      name: "gatehouse_requests_total",
      help: "HTTP requests ingress answered, by route template, status class, provider account and model",
      labelNames: requestLabels,
      registry,
    });
    const requestDuration = new FastHistogram({
      name: "gen_ai_server_request_duration_seconds",
      help: "Time from ingress receiving a request to the last byte of its answer (a stream's whole length)",
      labelNames: requestLabels,
      buckets: DURATION_BUCKETS,
      registry,
    });
    this.requestCells = new Children((v) => ({
      count: requests.cell(v[0] as string, v[1], v[2], v[3]),
      duration: requestDuration.cell(v[0] as string, v[1], v[2], v[3]),
      histogram: requestDuration,
    }));
    this.cache = new FastCounter({
      name: "gatehouse_cache_lookups_total",
      help: "Lookups in ingress's key and access-decision caches, by cache and result (hit or miss)",
      labelNames: ["cache", "result"] as const,
      registry,
    });
    this.nats = new FastHistogram({
      name: "gatehouse_nats_request_duration_seconds",
      help: "NATS request latency by subject (without the prefix) and outcome; a stream's is its first frame's",
      labelNames: ["subject", "outcome"] as const,
      buckets: NATS_BUCKETS,
      registry,
    });
    this.upstreamDuration = new FastHistogram({
      name: "gen_ai_client_operation_duration_seconds",
      help: "Time dispatch spent on a provider call, from the invoke request to its last frame",
      labelNames: ["account", "model", "operation", "status_class"] as const,
      buckets: DURATION_BUCKETS,
      registry,
    });
    this.ttft = new FastHistogram({
      name: "gen_ai_server_time_to_first_token_seconds",
      help: "Time from dispatch receiving a streamed call to the provider's first event",
      labelNames: ["account", "model", "operation"] as const,
      buckets: TTFT_BUCKETS,
      registry,
    });
    this.tokenUsage = new FastHistogram({
      name: "gen_ai_client_token_usage",
      help: "Tokens per call as the provider reported them, by token type (input, output); _sum is the total",
      labelNames: ["account", "model", "operation", "token_type"] as const,
      buckets: TOKEN_BUCKETS,
      registry,
    });
    this.costUsd = new FastCounter({
      name: "gatehouse_cost_usd_total",
      help: "Cost in USD of the calls recorded, from the model's prices at the time of each call",
      labelNames: ["account", "model"] as const,
      registry,
    });
    this.upstreamErrors = new FastCounter({
      name: "gatehouse_upstream_errors_total",
      help: "Provider calls that failed because of the provider, by account and error code",
      labelNames: ["account", "error_type"] as const,
      registry,
    });
    this.retries = new FastCounter({
      name: "gatehouse_upstream_retries_total",
      help: "Provider requests sent again before any byte reached the caller, by account and reason",
      labelNames: ["account", "reason"] as const,
      registry,
    });
    this.usageRecords = new FastCounter({
      name: "gatehouse_usage_records_total",
      help: "Usage records by stage: published to JetStream, publish_failed, stored in Postgres, store_failed (redelivered), rejected (set aside: never stored)",
      labelNames: ["stage"] as const,
      registry,
    });
    this.spendRecords = new FastCounter({
      name: "gatehouse_budget_spend_records_total",
      help: "Usage records acl read for budget spend by stage: counted (committed, or under no budget), count_failed (redelivered), rejected (set aside: never counted)",
      labelNames: ["stage"] as const,
      registry,
    });
  }

  /** Label values for a call's account and model: only configured ones by name. */
  target(account: string | undefined, model: string | undefined): { account: string; model: string } {
    return { account: this.accounts.value(account), model: this.models.value(model) };
  }

  /**
   * One answered HTTP request (ingress). `route` is the matched template (undefined when none
   * matched); `account` and `model` are values from `accounts`/`models`, or `other`/`none`.
   */
  request(route: string | undefined, status: number, account: string, model: string, seconds: number): void {
    const cells = this.requestCells.get4(
      route === undefined ? "unmatched" : this.routes.value(route),
      statusClass(status),
      account,
      model,
    );
    cells.count.value++;
    cells.histogram.observe(cells.duration, seconds);
  }

  cacheLookup(cache: CacheName, hit: boolean): void {
    this.cache.cell(cache, hit ? "hit" : "miss").value++;
  }

  /** A NATS request and how it ended; `subject` is the full subject (the prefix is dropped). */
  natsRequest(subject: string, outcome: NatsOutcome, seconds: number): void {
    this.nats.observe(this.nats.cell(this.subjects.value(subjectWithoutPrefix(subject)), outcome), seconds);
  }

  /** A provider call dispatch finished (any outcome). Labels from `target()`. */
  upstreamCall(
    labels: { account: string; model: string },
    operation: string,
    status: number,
    seconds: number,
  ): void {
    const cell = this.upstreamDuration.cell(labels.account, labels.model, operation, statusClass(status));
    this.upstreamDuration.observe(cell, seconds);
  }

  timeToFirstToken(labels: { account: string; model: string }, operation: string, seconds: number): void {
    this.ttft.observe(this.ttft.cell(labels.account, labels.model, operation), seconds);
  }

  tokens(labels: { account: string; model: string }, operation: string, input: number, output: number): void {
    const h = this.tokenUsage;
    h.observe(h.cell(labels.account, labels.model, operation, "input"), input);
    h.observe(h.cell(labels.account, labels.model, operation, "output"), output);
  }

  cost(labels: { account: string; model: string }, usd: number): void {
    if (Number.isFinite(usd) && usd > 0) this.costUsd.cell(labels.account, labels.model).value += usd;
  }

  /** `code` is an error-catalog code, so the label is bounded by the catalog. */
  upstreamError(account: string, code: string): void {
    this.upstreamErrors.cell(account, code).value++;
  }

  upstreamRetry(account: string, reason: RetryReason): void {
    this.retries.cell(account, reason).value++;
  }

  usageRecordsAt(stage: UsageStage, count: number): void {
    if (count > 0) this.usageRecords.cell(stage).value += count;
  }

  budgetSpendRecordsAt(stage: SpendStage, count: number): void {
    if (count > 0) this.spendRecords.cell(stage).value += count;
  }

  /**
   * A gauge read at scrape time (nothing is done per call). Several sources under one name (two
   * instances sharing a registry) are summed; a source that cannot be read (JetStream down) makes
   * it NaN rather than a reassuring 0. The returned function removes this source.
   */
  gauge(name: string, help: string, read: () => number | Promise<number>): () => void {
    let sources = this.gauges.get(name);
    if (sources === undefined) {
      const created = new Set<() => number | Promise<number>>();
      sources = created;
      this.gauges.set(name, created);
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          const values = await Promise.all(
            [...created].map((r) => Promise.resolve(r()).catch(() => Number.NaN)),
          );
          this.set(values.reduce((a, b) => a + b, 0));
        },
      });
    }
    sources.add(read);
    return () => sources.delete(read);
  }
}

/** `<prefix>.v1.auth.validate` → `auth.validate`; a subject of another shape is `other`. */
export function subjectWithoutPrefix(subject: string): string {
  const at = subject.indexOf(".v1.");
  return at < 0 ? OTHER : subject.slice(at + 4);
}
