#!/usr/bin/env node
/**
 * `pnpm bench:limits`: how exactly rate limits and budgets hold across replicas. Gatehouse as separate
 * processes with 3 ingress replicas, the bench mock upstream, and per scenario (limits-accuracy.ts)
 * an app of its own under one limit or budget; all scenarios' load runs at once, each over its connections
 * spread round-robin over the 3 replicas, for 2 minutes starting on a minute boundary (the limits'
 * windows are UTC minutes). A connection sends its next call as soon as one is admitted, and pauses
 * after a refusal (as a client backing off would), so calls are in flight whenever a window runs out.
 *
 *   pnpm bench:limits -- [--seconds=S] (120) [--connections=N] (24 per scenario)
 *                        [--pause-ms=MS] (200, after a refusal) [--write=no] (keep docs/benchmarks.md)
 *
 * Prints per scenario and window admitted vs allowed and the bound docs/governance.md predicts,
 * and writes the table to docs/benchmarks.md between the `bench:limits` markers.
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { estimateMicroUsd, estimateTokens } from "@gatehouse/ingress";
import { Pool } from "undici";
import {
  createBudget,
  createProviderAccount,
  createRateLimit,
  createVirtualAccount,
  grantUser,
  mintVat,
} from "./admin.js";
import { boundedInt, option } from "./cli.js";
import { ACCOUNT, REPO_ROOT, startGatehouse } from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import {
  type CallRecord,
  renderTable,
  type Scenario,
  scenarios,
  tally,
  type WindowRow,
} from "./limits-accuracy.js";
import { startMockProcess } from "./mock-process.js";
import { BENCH_MODELS, usageModel } from "./mock-upstream.js";
import { Cleanup, sleep } from "./proc.js";
import { writeResults } from "./report.js";

const log = (line: string) => process.stderr.write(`${line}\n`);
const REPLICAS = 3;
const SLICE_FRACTION = 0.05;
const USAGE_TOKENS = 200;
/** The usage model's price: 200 tokens cost $0.002, so the budget is spent in about 1,000 calls. */
const USD_PER_MTOK = 10;
const BUDGET_USD = 2;

async function call(pool: Pool, body: string, key: string): Promise<CallRecord> {
  const sentAt = Date.now();
  try {
    const res = await pool.request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
    const text = await res.body.text();
    let totalTokens: number | undefined;
    if (res.statusCode === 200) {
      const usage = (JSON.parse(text) as { usage?: { total_tokens?: unknown } }).usage;
      if (typeof usage?.total_tokens === "number") totalTokens = usage.total_tokens;
    }
    return { status: res.statusCode, sentAt, headers: res.headers, totalTokens };
  } catch {
    return { status: 0, sentAt, headers: {}, totalTokens: undefined };
  }
}

/** One scenario's load: its connections round-robin over the replicas until `until`. */
async function drive(
  scenario: Scenario,
  pools: readonly Pool[],
  key: string,
  until: number,
  pauseMs: number,
): Promise<CallRecord[]> {
  const calls: CallRecord[] = [];
  const worker = async (i: number) => {
    const pool = pools[i % pools.length] as Pool;
    while (Date.now() < until) {
      const record = await call(pool, scenario.body, key);
      calls.push(record);
      if (record.status !== 200) await sleep(Math.min(pauseMs, Math.max(0, until - Date.now())));
    }
  };
  await Promise.all(Array.from({ length: scenario.connections }, (_, i) => worker(i)));
  return calls;
}

async function main(): Promise<void> {
  const seconds = boundedInt("seconds", 120, 5, 600);
  const connections = boundedInt("connections", 24, REPLICAS, 300);
  const pauseMs = boundedInt("pause-ms", 200, 0, 10_000);
  const write = option("write", "yes") !== "no";
  const cleanup = new Cleanup();
  process.once("SIGINT", () => void cleanup.run().then(() => process.exit(130)));
  try {
    const { url: mockUrl } = await startMockProcess(cleanup);
    const natsUrl = await obtainNats(cleanup);
    log(`starting Gatehouse: separate processes, ${REPLICAS} ingress replicas …`);
    const gh = await startGatehouse({
      shape: "separate",
      ingressReplicas: REPLICAS,
      natsUrl,
      cleanup,
      env: { QUOTA_SLICE_FRACTION: String(SLICE_FRACTION) },
    });
    const models = [...BENCH_MODELS, { name: usageModel(USAGE_TOKENS), usdPerMTok: USD_PER_MTOK }];
    await createProviderAccount(gh.admin, ACCOUNT, `${mockUrl}/v1`, models);
    const list = scenarios(
      {
        replicas: REPLICAS,
        sliceFraction: SLICE_FRACTION,
        connections,
        usageModel: `${ACCOUNT}/${usageModel(USAGE_TOKENS)}`,
        usageTokens: USAGE_TOKENS,
        estimate: (body) => estimateTokens(Buffer.byteLength(body), JSON.parse(body)),
        estimateMicroUsd: (body) =>
          estimateMicroUsd(Buffer.byteLength(body), JSON.parse(body), {
            input: USD_PER_MTOK,
            output: USD_PER_MTOK,
          }),
        usdPerMTok: USD_PER_MTOK,
        budgetUsd: BUDGET_USD,
        createRateLimit,
        createBudget,
      },
      `${ACCOUNT}/bench-small`,
    );
    const pools = gh.ingressUrls.map(
      (url) => new Pool(url, { connections: Math.ceil((connections * list.length) / REPLICAS) }),
    );
    cleanup.add("close pools", () => Promise.all(pools.map((p) => p.close())).then(() => {}));
    const apps: { scenario: Scenario; key: string }[] = [];
    for (const scenario of list) {
      const va = await createVirtualAccount(gh.admin, `bench-limits-${scenario.key}`);
      await grantUser(gh.admin, ACCOUNT, va);
      const { key } = await mintVat(gh.admin, va, "bench");
      // Warm every replica's caches for this key (these calls fall in the minute before the run),
      // then create the limit: a budget counts its spend from its creation, so these cost it nothing.
      for (const pool of pools) {
        const warm = await call(pool, scenario.body, key);
        if (warm.status !== 200) throw new Error(`${scenario.key}: a warm-up call answered ${warm.status}`);
      }
      await scenario.create(gh.admin, va);
      apps.push({ scenario, key });
    }
    // Start on a minute boundary, so the run covers whole windows.
    const start = Math.ceil((Date.now() + 1_000) / 60_000) * 60_000;
    log(
      `waiting ${Math.round((start - Date.now()) / 1000)} s for the next minute; then ${seconds} s of load`,
    );
    await sleep(start - Date.now());
    const loadBefore = loadavg()[0] ?? 0;
    const runStart = Date.now();
    const until = runStart + seconds * 1_000;
    const results = await Promise.all(apps.map((a) => drive(a.scenario, pools, a.key, until, pauseMs)));
    const runEnd = Date.now();
    const loadAfter = loadavg()[0] ?? 0;
    const rows: WindowRow[] = apps.flatMap((a, i) => tally(a.scenario, results[i] ?? [], runStart, runEnd));
    const when = new Date(runStart).toISOString().slice(0, 16).replace("T", " ");
    const text = [
      `Run of ${when} UTC: ${seconds} s from a minute boundary; ${REPLICAS} ingress processes ` +
        `(QUOTA_SLICE_FRACTION ${SLICE_FRACTION}), ${connections} connections per limit spread over them, ` +
        `${pauseMs} ms pause after a refusal; Node ${process.version}, load average ${loadBefore.toFixed(1)} → ` +
        `${loadAfter.toFixed(1)} (1 min).`,
      "",
      renderTable(rows),
      "",
      ...list.map((s) => `- ${s.label}: ${s.bound.formula}.`),
    ].join("\n");
    console.log(`\n${text}\n`);
    if (write) {
      const file = resolve(REPO_ROOT, "docs/benchmarks.md");
      writeResults(file, "bench:limits", text);
      log(`written to ${file}`);
    }
    if (rows.some((r) => !r.within)) process.exitCode = 1;
  } finally {
    await cleanup.run();
  }
}

if (process.argv[1]?.endsWith("limits-accuracy-main.js")) {
  main().catch((err: unknown) => {
    log(`bench:limits failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
