import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { FastCounter, FastHistogram } from "./cells.js";
import { BoundedLabel, OTHER, statusClass } from "./labels.js";
import { GatehouseMetrics, subjectWithoutPrefix } from "./series.js";

async function seriesCount(metrics: GatehouseMetrics): Promise<number> {
  const all = await metrics.registry.getMetricsAsJSON();
  return all.reduce((n, m) => n + m.values.length, 0);
}

describe("bounded labels", () => {
  it("keeps configured values up to the cap and calls the rest other", () => {
    const label = new BoundedLabel(2);
    expect(label.value("a")).toBe("a");
    expect(label.value("b")).toBe("b");
    expect(label.value("c")).toBe(OTHER);
    expect(label.value("a")).toBe("a");
    expect(label.value(undefined)).toBe(OTHER);
    expect(label.value("")).toBe(OTHER);
    expect(label.size).toBe(2);
  });

  it("labels statuses by class", () => {
    expect([200, 204, 302, 404, 429, 499, 503, 0, 600, 99].map(statusClass)).toEqual([
      "2xx",
      "2xx",
      "3xx",
      "4xx",
      "4xx",
      "4xx",
      "5xx",
      OTHER,
      OTHER,
      OTHER,
    ]);
  });

  it("strips the prefix from a subject", () => {
    expect(subjectWithoutPrefix("gh_test_1.v1.auth.validate")).toBe("auth.validate");
    expect(subjectWithoutPrefix("no-version-here")).toBe(OTHER);
  });
});

describe("GatehouseMetrics", () => {
  it("adds no series for unconfigured accounts and models, whatever they are called", async () => {
    const metrics = new GatehouseMetrics({ maxAccounts: 3, maxModels: 3 });
    const known = metrics.target("openai-main", "gpt-4o-mini");
    metrics.tokens(known, "chat", 10, 5);
    metrics.upstreamCall(known, "chat", 200, 0.2);
    const before = await seriesCount(metrics);
    for (let i = 0; i < 500; i++) {
      const hostile = metrics.target(undefined, undefined);
      metrics.tokens(hostile, "chat", 1, 1);
      metrics.upstreamCall(hostile, "chat", 404, 0.01);
    }
    const afterHostile = await seriesCount(metrics);
    // One `other` series per family, however many hostile calls came.
    for (let i = 0; i < 500; i++) metrics.tokens(metrics.target(undefined, undefined), "chat", 1, 1);
    expect(await seriesCount(metrics)).toBe(afterHostile);
    expect(afterHostile).toBeGreaterThan(before);
  });

  it("caps configured names too, so a catalog of any size has a bounded series count", async () => {
    const metrics = new GatehouseMetrics({ maxAccounts: 5, maxModels: 5 });
    for (let i = 0; i < 1_000; i++) {
      metrics.request(
        "/v1/chat/completions",
        200,
        metrics.accounts.value(`acct-${i}`),
        metrics.models.value(`m-${i}`),
        0.1,
      );
    }
    const requests =
      (await metrics.registry.getSingleMetric("gatehouse_requests_total")?.get())?.values ?? [];
    // Five named pairs, then one `other` pair.
    expect(requests).toHaveLength(6);
    expect(requests.find((v) => v.labels.account === OTHER)?.value).toBe(995);
  });

  it("counts a request once per call on both the counter and the duration histogram", async () => {
    const metrics = new GatehouseMetrics();
    metrics.request("/v1/chat/completions", 200, "a", "m", 0.05);
    metrics.request("/v1/chat/completions", 200, "a", "m", 0.07);
    metrics.request(undefined, 404, "none", "none", 0.001);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'gatehouse_requests_total{route="/v1/chat/completions",status_class="2xx",account="a",model="m"} 2',
    );
    expect(text).toContain(
      'gen_ai_server_request_duration_seconds_count{route="/v1/chat/completions",status_class="2xx",account="a",model="m"} 2',
    );
    expect(text).toContain(
      'gatehouse_requests_total{route="unmatched",status_class="4xx",account="none",model="none"} 1',
    );
  });

  it("counts cost only when the record has a positive one", async () => {
    const metrics = new GatehouseMetrics();
    const labels = metrics.target("a", "m");
    metrics.cost(labels, 0.0125);
    metrics.cost(labels, 0);
    metrics.cost(labels, Number.NaN);
    const text = await metrics.registry.metrics();
    expect(text).toContain('gatehouse_cost_usd_total{account="a",model="m"} 0.0125');
  });

  it("sums a gauge over its sources and forgets a removed one", async () => {
    const metrics = new GatehouseMetrics();
    const offA = metrics.gauge("gatehouse_test_gauge", "test", () => 2);
    metrics.gauge("gatehouse_test_gauge", "test", async () => 3);
    expect(await metrics.registry.metrics()).toContain("gatehouse_test_gauge 5");
    offA();
    expect(await metrics.registry.metrics()).toContain("gatehouse_test_gauge 3");
  });
});

describe("fast cells", () => {
  it("render exactly as prom-client's own counter and histogram do", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const buckets = [0.1, 0.5, 1];
    const h = new FastHistogram({
      name: "t_seconds",
      help: "h",
      labelNames: ["a", "b"],
      buckets,
      registry: ours,
    });
    const c = new FastCounter({ name: "t_total", help: "c", labelNames: ["a"], registry: ours });
    const ph = new Histogram({
      name: "t_seconds",
      help: "h",
      labelNames: ["a", "b"],
      buckets,
      registers: [theirs],
    });
    const pc = new Counter({ name: "t_total", help: "c", labelNames: ["a"], registers: [theirs] });
    for (const [v, a, b] of [
      [0.05, "x", "y"],
      [0.1, "x", "y"],
      [0.7, "x", "z"],
      [3, "x", "y"],
    ] as const) {
      h.observe(h.cell(a, b), v);
      ph.observe({ a, b }, v);
      c.cell(b).value += 2;
      pc.inc({ a: b }, 2);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
