#!/usr/bin/env node
/**
 * `pnpm bench:ab`: two Gatehouse builds (or two settings of one build) side by side on the same mock
 * upstream and NATS, the load alternating between them in A B B A order every round, so that this
 * machine's drift (2× or more within an hour) hits both alike. Prints pooled percentiles for each
 * and the difference B − A, and each round's p50 so a one-off can be told from a steady gap.
 *
 *   pnpm bench:ab -- [--base=DIR]            A: another checkout, built (default: this one, B's build)
 *                    [--load=small|ttfb|stream200|responses]  c=1 calls (autocannon), or sequential
 *                                             streams (20 chunks 5 ms apart / 200 at once); default small.
 *                                             `responses`: one build (this checkout), one account, A a chat
 *                                             call and B the same call through the Responses API
 *                                             (translated to chat): what the translation costs.
 *                                             `limits`: one build, two apps on one account, A with no
 *                                             rate limit and B under one it never reaches (so every B
 *                                             call is checked and admitted): what enforcement costs
 *                    [--connections=N] (small, responses, limits: concurrent connections, default 1; throughput is reported)
 *                    [--rounds=N] (6; each target is measured twice a round)
 *                    [--seconds=S] (small: 3 per measurement) [--streams=N] (ttfb/stream200: 25
 *                    per measurement) [--shape=one|separate]
 *                    [--env-a=NAME=VALUE …] [--env-b=NAME=VALUE …] [--node-arg-a=FLAG …] [--node-arg-b=FLAG …]
 *
 * A compare against a base build: `git worktree add ../base <commit>`, then `pnpm install` and
 * `pnpm build` there. With no base and no settings it is an A/A run: the noise on this machine.
 * Both sides start with the node flags this checkout's gatehouse-node gives their environment
 * (nodeMemoryFlags: a larger young generation with tracing configured) plus their own --node-arg-*.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createBudget, createRateLimit, createVirtualAccount, grantUser, mintVat } from "./admin.js";
import { boundedInt, envOption, option, repeated } from "./cli.js";
import {
  ACCOUNT as BENCH_ACCOUNT,
  gatehouseResponsesTarget,
  gatehouseTarget,
  provision,
  REPO_ROOT,
  type Shape,
  startGatehouse,
  verifyAndWarm,
} from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import { runAutocannon, runStreams } from "./load.js";
import { startMockProcess } from "./mock-process.js";
import { Cleanup, sampleProc } from "./proc.js";
import { count } from "./report.js";
import { percentile } from "./stats.js";
import type { ModelKind, Target } from "./targets.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

/** What one side measured: the pooled figure (latency, or time to first chunk), and p50 per round. */
export interface Side {
  label: string;
  values: number[];
  totals: number[];
  roundP50: number[];
  failures: number;
  /** Completed calls and the seconds they took, for throughput (autocannon loads only). */
  requests?: number;
  seconds?: number;
  /** CPU the target's own processes used while this side was measured (user + system, ms). */
  cpuMs?: number;
}

const p = (values: readonly number[], q: number) =>
  percentile(
    [...values].sort((a, b) => a - b),
    q,
  );
const ms = (v: number) => (Number.isNaN(v) ? "–" : v.toFixed(3));
const signed = (v: number) => (Number.isNaN(v) ? "–" : `${v >= 0 ? "+" : ""}${v.toFixed(3)}`);

/** The comparison as a Markdown table: A, B and B − A at p50, p90 and p99 (and whole streams). */
export function formatComparison(a: Side, b: Side, figure: string): string {
  const rows: [string, (s: Side) => number][] = [
    [`${figure} p50`, (s) => p(s.values, 50)],
    [`${figure} p90`, (s) => p(s.values, 90)],
    [`${figure} p99`, (s) => p(s.values, 99)],
  ];
  if (a.totals.length > 0) {
    rows.push(["whole stream p50", (s) => p(s.totals, 50)], ["whole stream p99", (s) => p(s.totals, 99)]);
  }
  const lines = [
    `| ms | A: ${a.label} | B: ${b.label} | B − A |`,
    "|---|--:|--:|--:|",
    ...rows.map(([name, f]) => `| ${name} | ${ms(f(a))} | ${ms(f(b))} | ${signed(f(b) - f(a))} |`),
  ];
  const rate = (side: Side) => (side.requests ?? 0) / (side.seconds || Number.NaN);
  if ((a.seconds ?? 0) > 0 && (b.seconds ?? 0) > 0) {
    const change = ((rate(b) - rate(a)) / rate(a)) * 100;
    lines.push(
      `| throughput (req/s) | ${rate(a).toFixed(0)} | ${rate(b).toFixed(0)} | ${change >= 0 ? "+" : ""}${change.toFixed(1)} % |`,
    );
  }
  const cpuPerRequest = (side: Side) => ((side.cpuMs ?? 0) * 1000) / (side.requests || Number.NaN);
  if ((a.cpuMs ?? 0) > 0 && (b.cpuMs ?? 0) > 0) {
    const change = ((cpuPerRequest(b) - cpuPerRequest(a)) / cpuPerRequest(a)) * 100;
    lines.push(
      `| Gatehouse CPU µs per request | ${cpuPerRequest(a).toFixed(0)} | ${cpuPerRequest(b).toFixed(0)} | ${change >= 0 ? "+" : ""}${change.toFixed(1)} % |`,
    );
  }
  lines.push(
    `| n (failed) | ${a.values.length} (${a.failures}) | ${b.values.length} (${b.failures}) | |`,
    `| p50 per round | ${a.roundP50.map(ms).join(" ")} | ${b.roundP50.map(ms).join(" ")} | |`,
  );
  return lines.join("\n");
}

type Load = ModelKind | "responses" | "limits";

export async function measure(target: Target, load: Load, seconds: number, streams: number, connections = 1) {
  if (load === "small" || load === "responses" || load === "limits") {
    const sample = await runAutocannon(target, connections, seconds, "small");
    return {
      values: sample.latenciesMs,
      totals: [],
      failures: sample.errors + sample.non2xx,
      requests: sample.requests,
      seconds: sample.durationS,
    };
  }
  const sample = await runStreams(target, load, streams);
  return { values: sample.ttfbMs, totals: sample.totalMs, failures: sample.errors + sample.non2xx };
}

/** This checkout, with B's settings: the one build both sides of a one-build comparison share. */
function startThisCheckout(natsUrl: string, shape: Shape, cleanup: Cleanup) {
  return startGatehouse({
    shape,
    natsUrl,
    cleanup,
    root: REPO_ROOT,
    env: envOption("env-b"),
    nodeArgs: repeated("node-arg-b"),
  });
}

/** One build, one account: its chat completions (A) against the same call through /v1/responses (B). */
async function startChatAndResponses(mockUrl: string, natsUrl: string, shape: Shape, cleanup: Cleanup) {
  const gh = await startThisCheckout(natsUrl, shape, cleanup);
  const provisioned = await provision(gh, mockUrl, { responses_api: "translated" });
  await verifyAndWarm(gh, provisioned);
  const responses = gatehouseResponsesTarget(gh, provisioned);
  const probe = await runAutocannon(responses, 1, 1, "small");
  if (probe.non2xx > 0 || probe.requests === 0) throw new Error("the Responses target does not answer 200");
  return [gatehouseTarget(gh, provisioned), responses] as const;
}

/** One build, one account, two apps: A has no limit, B one rate limit and one budget it never reaches. */
async function startWithAndWithoutLimit(mockUrl: string, natsUrl: string, shape: Shape, cleanup: Cleanup) {
  const gh = await startThisCheckout(natsUrl, shape, cleanup);
  const free = await provision(gh, mockUrl);
  await verifyAndWarm(gh, free);
  const limitedId = await createVirtualAccount(gh.admin, "bench-limited");
  await grantUser(gh.admin, BENCH_ACCOUNT, limitedId);
  const limited = { virtualAccountId: limitedId, vat: await mintVat(gh.admin, limitedId, "bench") };
  await createRateLimit(gh.admin, limitedId, {
    requests_per_minute: 100_000_000,
    tokens_per_minute: 1_000_000_000,
  });
  await createBudget(gh.admin, limitedId, { max_usd: 100_000_000, period: "month" });
  const target = gatehouseTarget(gh, limited);
  const probe = await runAutocannon(target, 1, 1, "small");
  if (probe.non2xx > 0 || probe.requests === 0) throw new Error("the limited app does not answer 200");
  return [gatehouseTarget(gh, free), { ...target, label: "under one rate limit and one budget" }] as const;
}

async function main(): Promise<void> {
  // pnpm runs the script in bench/; a relative --base means relative to where the command was typed.
  const base = resolve(process.env.INIT_CWD ?? process.cwd(), option("base", REPO_ROOT));
  if (!existsSync(resolve(base, "packages/launcher/dist/main.js"))) {
    throw new Error(`--base=${base} is not a built checkout (run pnpm install && pnpm build there)`);
  }
  const load = option("load", "small");
  if (
    load !== "small" &&
    load !== "ttfb" &&
    load !== "stream200" &&
    load !== "responses" &&
    load !== "limits"
  ) {
    throw new Error("--load must be small, ttfb, stream200, responses or limits");
  }
  const connections = boundedInt("connections", 1, 1, 512);
  const shape = option("shape", "one");
  if (shape !== "one" && shape !== "separate") throw new Error("--shape must be one or separate");
  const rounds = boundedInt("rounds", 6, 1, 100);
  const seconds = boundedInt("seconds", 3, 1, 120);
  const streams = boundedInt("streams", 25, 1, 1_000);
  const cleanup = new Cleanup();
  process.once("SIGINT", () => void cleanup.run().then(() => process.exit(130)));
  try {
    const { url: mockUrl } = await startMockProcess(cleanup);
    const natsUrl = await obtainNats(cleanup);
    const start = async (name: "a" | "b", root: string) => {
      const gh = await startGatehouse({
        shape: shape as Shape,
        natsUrl,
        cleanup,
        root,
        env: envOption(`env-${name}`),
        nodeArgs: repeated(`node-arg-${name}`),
      });
      const provisioned = await provision(gh, mockUrl);
      await verifyAndWarm(gh, provisioned);
      return gatehouseTarget(gh, provisioned);
    };
    const describe = (name: "a" | "b", root: string) =>
      [
        root === REPO_ROOT ? "this checkout" : root,
        ...repeated(`node-arg-${name}`),
        ...repeated(`env-${name}`),
      ].join(" ");
    let targets: readonly [Target, Target];
    let labels: [string, string];
    if (load === "responses") {
      log(`starting this checkout, shape ${shape}: chat (A) and Responses (B) on one account …`);
      targets = await startChatAndResponses(mockUrl, natsUrl, shape as Shape, cleanup);
      labels = ["chat completions", "Responses API"];
    } else if (load === "limits") {
      log(`starting this checkout, shape ${shape}: an app with no limit (A) and one under a limit (B) …`);
      targets = await startWithAndWithoutLimit(mockUrl, natsUrl, shape as Shape, cleanup);
      labels = ["no limit", "one rate limit (requests + tokens) and one budget"];
    } else {
      log(`starting A (${base}) and B (${REPO_ROOT}), shape ${shape} …`);
      targets = [await start("a", base), await start("b", REPO_ROOT)] as const;
      labels = [describe("a", base), describe("b", REPO_ROOT)];
    }
    const side = (label: string): Side => ({
      label,
      values: [],
      totals: [],
      roundP50: [],
      failures: 0,
      requests: 0,
      seconds: 0,
    });
    const sides: [Side, Side] = [side(labels[0]), side(labels[1])];
    for (const t of targets) await measure(t, load, 2, 10, connections); // warm-up: JIT, pools, caches
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [0, 1, 1, 0] : [1, 0, 0, 1];
      const perRound: [number[], number[]] = [[], []];
      for (const i of order) {
        const side = i === 0 ? 0 : 1;
        const target = targets[side];
        const cpu = () => target.processes.reduce((sum, proc) => sum + (sampleProc(proc.pid)?.cpuMs ?? 0), 0);
        const cpuBefore = cpu();
        const result = await measure(target, load, seconds, streams, connections);
        sides[side].cpuMs = (sides[side].cpuMs ?? 0) + cpu() - cpuBefore;
        sides[side].values.push(...result.values);
        sides[side].totals.push(...result.totals);
        sides[side].failures += result.failures;
        sides[side].requests = (sides[side].requests ?? 0) + (result.requests ?? 0);
        sides[side].seconds = (sides[side].seconds ?? 0) + (result.seconds ?? 0);
        perRound[side].push(...result.values);
      }
      sides[0].roundP50.push(p(perRound[0], 50));
      sides[1].roundP50.push(p(perRound[1], 50));
      log(`round ${round + 1}/${rounds}: p50 A ${ms(p(perRound[0], 50))} B ${ms(p(perRound[1], 50))}`);
    }
    const figure =
      load === "small" || load === "responses" || load === "limits"
        ? `latency (c=${connections})`
        : "first chunk";
    console.log(`\n${load}, shape ${shape}, ${count(rounds, "round")}, Node ${process.version}\n`);
    console.log(formatComparison(sides[0], sides[1], figure));
  } finally {
    await cleanup.run();
  }
}

if (process.argv[1]?.endsWith("ab.js")) {
  main().catch((err: unknown) => {
    log(`ab failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
