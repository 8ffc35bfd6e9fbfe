import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { Children } from "./children.js";
import { BoundedLabel, OTHER, statusClass } from "./labels.js";

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
  /** Also collect prom-client's process and Node.js series (`process_*`, `nodejs_*`): once per process. */
  defaultMetrics?: boolean;
}

/** The caches on ingress's request path. */
export type CacheName = "key" | "decision";
/** How a NATS request ended. */
export type NatsOutcome = "ok" | "error" | "timeout" | "no_responders";
/** Where usage records went: published to JetStream, refused by it, stored in Postgres, refused by it (retried). */
export type UsageStage = "published" | "publish_failed" | "stored" | "store_failed";
/** Why the provider transport tried again. */
export type RetryReason = "connect" | "status_429" | "status_5xx";
type RequestChildren = { count: Counter.Internal; duration: Histogram.Internal<string> };

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

  private readonly requestChildren: Children<RequestChildren>;
  private readonly cacheChildren: Children<Counter.Internal>;
  private readonly natsChildren: Children<Histogram.Internal<string>>;
  private readonly upstreamDuration: Histogram<"account" | "model" | "operation" | "status_class">;
  private readonly ttft: Histogram<"account" | "model" | "operation">;
  private readonly tokenUsage: Histogram<"account" | "model" | "operation" | "token_type">;
  private readonly costUsd: Counter<"account" | "model">;
  private readonly upstreamErrors: Counter<"account" | "error_type">;
  private readonly retries: Counter<"account" | "reason">;
  private readonly usageRecords: Counter<"stage">;
  private readonly gauges = new Map<string, Set<() => number | Promise<number>>>();

  constructor(options: MetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    this.accounts = new BoundedLabel(options.maxAccounts ?? 200);
    this.models = new BoundedLabel(options.maxModels ?? 500);
    const registers = [registry];
    if (options.defaultMetrics) collectDefaultMetrics({ register: registry });

    const requestLabels = ["route", "status_class", "account", "model"] as const;
    const requests = new Counter({
      name: "gatehouse_requests_total",
      help: "HTTP requests ingress answered, by route template, status class, provider account and model",
      labelNames: requestLabels,
      registers,
    });
    const requestDuration = new Histogram({
      name: "gen_ai_server_request_duration_seconds",
      help: "Time from ingress receiving a request to the last byte of its answer (a stream's whole length)",
      labelNames: requestLabels,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.requestChildren = new Children((v) => ({
      count: requests.labels(...v),
      duration: requestDuration.labels(...v),
    }));
    const cache = new Counter({
      name: "gatehouse_cache_lookups_total",
      help: "Lookups in ingress's key and access-decision caches, by cache and result (hit or miss)",
      labelNames: ["cache", "result"] as const,
      registers,
    });
    this.cacheChildren = new Children((v) => cache.labels(...v));
    const nats = new Histogram({
      name: "gatehouse_nats_request_duration_seconds",
      help: "NATS request latency by subject (without the prefix) and outcome; a stream's is its first frame's",
      labelNames: ["subject", "outcome"] as const,
      buckets: NATS_BUCKETS,
      registers,
    });
    this.natsChildren = new Children((v) => nats.labels(...v));
    this.upstreamDuration = new Histogram({
      name: "gen_ai_client_operation_duration_seconds",
      help: "Time dispatch spent on a provider call, from the invoke request to its last frame",
      labelNames: ["account", "model", "operation", "status_class"] as const,
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.ttft = new Histogram({
      name: "gen_ai_server_time_to_first_token_seconds",
      help: "Time from dispatch receiving a streamed call to the provider's first event",
      labelNames: ["account", "model", "operation"] as const,
      buckets: TTFT_BUCKETS,
      registers,
    });
    this.tokenUsage = new Histogram({
      name: "gen_ai_client_token_usage",
      help: "Tokens per call as the provider reported them, by token type (input, output); _sum is the total",
      labelNames: ["account", "model", "operation", "token_type"] as const,
      buckets: TOKEN_BUCKETS,
      registers,
    });
    this.costUsd = new Counter({
      name: "gatehouse_cost_usd_total",
      help: "Cost in USD of the calls recorded, from the model's prices at the time of each call",
      labelNames: ["account", "model"] as const,
      registers,
    });
    this.upstreamErrors = new Counter({
      name: "gatehouse_upstream_errors_total",
      help: "Provider calls that failed because of the provider, by account and error code",
      labelNames: ["account", "error_type"] as const,
      registers,
    });
    this.retries = new Counter({
      name: "gatehouse_upstream_retries_total",
      help: "Provider requests sent again before any byte reached the caller, by account and reason",
      labelNames: ["account", "reason"] as const,
      registers,
    });
    this.usageRecords = new Counter({
      name: "gatehouse_usage_records_total",
      help: "Usage records by stage: published to JetStream, publish_failed, stored in Postgres, store_failed (redelivered)",
      labelNames: ["stage"] as const,
      registers,
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
    const children = this.requestChildren.get4(
      route === undefined ? "unmatched" : this.routes.value(route),
      statusClass(status),
      account,
      model,
    );
    children.count.inc();
    children.duration.observe(seconds);
  }

  cacheLookup(cache: CacheName, hit: boolean): void {
    this.cacheChildren.get2(cache, hit ? "hit" : "miss").inc();
  }

  /** A NATS request and how it ended; `subject` is the full subject, `prefix` the gateway's. */
  natsRequest(subject: string, outcome: NatsOutcome, seconds: number): void {
    this.natsChildren.get2(this.subjects.value(subjectWithoutPrefix(subject)), outcome).observe(seconds);
  }

  /** A provider call dispatch finished (any outcome). Labels from `target()`. */
  upstreamCall(
    labels: { account: string; model: string },
    operation: string,
    status: number,
    seconds: number,
  ): void {
    this.upstreamDuration.observe({ ...labels, operation, status_class: statusClass(status) }, seconds);
  }

  timeToFirstToken(labels: { account: string; model: string }, operation: string, seconds: number): void {
    this.ttft.observe({ ...labels, operation }, seconds);
  }

  tokens(labels: { account: string; model: string }, operation: string, input: number, output: number): void {
    this.tokenUsage.observe({ ...labels, operation, token_type: "input" }, input);
    this.tokenUsage.observe({ ...labels, operation, token_type: "output" }, output);
  }

  cost(labels: { account: string; model: string }, usd: number): void {
    if (Number.isFinite(usd) && usd > 0) this.costUsd.inc(labels, usd);
  }

  /** `code` is an error-catalog code, so the label is bounded by the catalog. */
  upstreamError(account: string, code: string): void {
    this.upstreamErrors.inc({ account, error_type: code });
  }

  upstreamRetry(account: string, reason: RetryReason): void {
    this.retries.inc({ account, reason });
  }

  usageRecordsAt(stage: UsageStage, count: number): void {
    if (count > 0) this.usageRecords.inc({ stage }, count);
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
