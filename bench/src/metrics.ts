#!/usr/bin/env node
/**
 * `pnpm bench:metrics`: what the Prometheus series cost one call, in CPU, without I/O. One call
 * through the gateway records (ingress) one request with its duration, a key-cache and a
 * decision-cache lookup, one NATS request, and (dispatch) the provider call's duration, time to
 * first token and tokens. That set is timed per call over 20 accounts × 5 models, next to the
 * ingress half through prom-client's own Counter/Histogram (what the cells avoid), and a scrape
 * of the resulting registry. The throughput A/B (metrics against the build before them) is
 * `pnpm bench:ab -- --base=DIR` (docs/benchmarks.md, "Metrics on the request path").
 *
 *   pnpm bench:metrics -- [--rounds=N] [--no-write]
 */
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { GatehouseMetrics } from "@gatehouse/kit";
import { Counter, Histogram, Registry } from "prom-client";
import { boundedInt } from "./cli.js";
import { REPO_ROOT } from "./gatehouse.js";
import { count, table, writeResults } from "./report.js";

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** Microseconds per call of `fn(i)`, the median of `rounds` timed batches. */
function perCall(fn: (i: number) => void, batch: number, rounds: number): number {
  for (let i = 0; i < batch; i++) fn(i);
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn(i);
    samples.push(Number(process.hrtime.bigint() - t) / 1000 / batch);
  }
  return median(samples);
}

const ACCOUNTS = Array.from({ length: 20 }, (_, i) => `account-${i}`);
const MODELS = Array.from({ length: 5 }, (_, i) => `model-${i}`);
const SUBJECT = "gatehouse.v1.dispatch.invoke";

/** Everything one chat call records, through GatehouseMetrics (what the gateway runs). */
function gatehouseCall(metrics: GatehouseMetrics): (i: number) => void {
  return (i) => {
    const account = ACCOUNTS[i % ACCOUNTS.length] as string;
    const model = MODELS[i % MODELS.length] as string;
    // ingress
    metrics.cacheLookup("key", true);
    metrics.cacheLookup("decision", true);
    const a = metrics.accounts.value(account);
    const m = metrics.models.value(model);
    metrics.natsRequest(SUBJECT, "ok", 0.004);
    metrics.request("/v1/chat/completions", 200, a, m, 0.005);
    // dispatch (observeUsage)
    const labels = metrics.target(account, model);
    metrics.upstreamCall(labels, "chat", 200, 0.004);
    metrics.timeToFirstToken(labels, "chat", 0.002);
    metrics.tokens(labels, "chat", 12, 30);
  };
}

/** The ingress half through prom-client's own metrics, for comparison with the cells. */
function labelsObjectCall(): (i: number) => void {
  const registry = new Registry();
  const names = ["route", "status_class", "account", "model"] as const;
  const count = new Counter({ name: "c", help: "c", labelNames: names, registers: [registry] });
  const duration = new Histogram({ name: "h", help: "h", labelNames: names, registers: [registry] });
  const cache = new Counter({ name: "k", help: "k", labelNames: ["cache", "result"], registers: [registry] });
  const nats = new Histogram({
    name: "n",
    help: "n",
    labelNames: ["subject", "outcome"],
    registers: [registry],
  });
  return (i) => {
    const labels = {
      route: "/v1/chat/completions",
      status_class: "2xx",
      account: ACCOUNTS[i % ACCOUNTS.length] as string,
      model: MODELS[i % MODELS.length] as string,
    };
    cache.inc({ cache: "key", result: "hit" });
    cache.inc({ cache: "decision", result: "hit" });
    nats.observe({ subject: "dispatch.invoke", outcome: "ok" }, 0.004);
    count.inc(labels);
    duration.observe(labels, 0.005);
  };
}

function ingressOnly(metrics: GatehouseMetrics): (i: number) => void {
  return (i) => {
    metrics.cacheLookup("key", true);
    metrics.cacheLookup("decision", true);
    metrics.natsRequest(SUBJECT, "ok", 0.004);
    metrics.request(
      "/v1/chat/completions",
      200,
      metrics.accounts.value(ACCOUNTS[i % ACCOUNTS.length]),
      metrics.models.value(MODELS[i % MODELS.length]),
      0.005,
    );
  };
}

async function main(): Promise<void> {
  const rounds = boundedInt("rounds", 15, 3, 1000);
  const batch = 20_000;
  const metrics = new GatehouseMetrics();
  const whole = perCall(gatehouseCall(metrics), batch, rounds);
  const ingress = perCall(ingressOnly(new GatehouseMetrics()), batch, rounds);
  const objects = perCall(labelsObjectCall(), batch, rounds);
  const scrapes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    await metrics.registry.metrics();
    scrapes.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const bytes = Buffer.byteLength(await metrics.registry.metrics());
  const text = [
    `Command: \`pnpm bench:metrics\`, ${count(rounds, "round")} of ${batch} calls, Node ${process.version}, 20 accounts × 5 models; ${cpus().length} cores, load average ${loadavg()[0]?.toFixed(1)} at the end.`,
    "",
    table(
      ["what one call records", "µs per call (median)"],
      [
        [
          "ingress: request + duration, key and decision cache, NATS invoke (Gatehouse's cells)",
          ingress.toFixed(3),
        ],
        ["the same through prom-client's Counter/Histogram (for comparison)", objects.toFixed(3)],
        ["ingress and dispatch: the above + provider call, TTFT, input/output tokens", whole.toFixed(3)],
      ],
    ),
    "",
    `A scrape of that registry (${(bytes / 1024).toFixed(0)} KiB of text): ${median(scrapes).toFixed(2)} ms (median).`,
  ].join("\n");
  process.stdout.write(`${text}\n`);
  if (!process.argv.includes("--no-write")) {
    writeResults(resolve(REPO_ROOT, "docs/benchmarks.md"), "bench:metrics", text);
  }
}

await main();
