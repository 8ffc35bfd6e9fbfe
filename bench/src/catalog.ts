#!/usr/bin/env node
/**
 * `pnpm bench:catalog`: calls against a gateway whose catalog holds 10,000 provider accounts of
 * 100 models each (one million models; the whole catalog is ~40 MB of JSON, far past one NATS
 * message), measured three ways:
 *
 * - a warm call's latency (c=1) against the same call on a gateway with only the benchmark's own
 *   account, side by side on one mock upstream and NATS, the load alternating A B B A every round
 *   (as `pnpm bench:ab`);
 * - a cold account's first use against its second (the access decision alone, and a whole call),
 *   next to the two lookups the first one makes (`dispatch.catalog.account` and `acl.check`, asked
 *   directly over NATS): sent together, they should cost one round trip, not two;
 * - `GET /v1/models` for an admin (the first MODELS_LIST_MAX models of the million).
 *
 *   pnpm bench:catalog -- [--base=DIR] (A: another built checkout, default this one)
 *                         [--accounts=10000] [--models=100] [--cold=200] [--rounds=6] [--seconds=3]
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { connect, type NatsConnection } from "nats";
import { request } from "undici";
import { formatComparison, measure, type Side } from "./ab.js";
import { type AdminClient, call, grantUser } from "./admin.js";
import { boundedInt, option } from "./cli.js";
import {
  gatehouseTarget,
  type Provisioned,
  provision,
  REPO_ROOT,
  type RunningGatehouse,
  startGatehouse,
  verifyAndWarm,
} from "./gatehouse.js";
import { obtainNats } from "./infra.js";
import { startMockProcess } from "./mock-process.js";
import { Cleanup } from "./proc.js";
import { count } from "./report.js";
import { percentile, summarize } from "./stats.js";
import { chatBody } from "./targets.js";

const log = (line: string) => process.stderr.write(`${line}\n`);
const ms = (v: number) => (Number.isNaN(v) ? "–" : v.toFixed(3));
const accountName = (i: number) => `catalog-${String(i).padStart(5, "0")}`;

/** `count` accounts of `models` chat models each, created through the admin API, 8 at a time. */
async function loadCatalog(admin: AdminClient, count: number, models: number): Promise<void> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const body = {
        name: accountName(i),
        type: "mock",
        models: Array.from({ length: models }, (_, m) => ({
          name: `model-${m}-of-account-${i}`,
          kind: "chat",
        })),
      };
      const r = await call(admin, "POST", "/api/v1/provider-accounts", body);
      if (r.status !== 201) throw new Error(`create ${body.name} → ${r.status} ${JSON.stringify(r.json)}`);
      if ((i + 1) % 1_000 === 0)
        log(`  ${i + 1}/${count} accounts (${((performance.now() - started) / 1000).toFixed(0)} s)`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function chatMs(base: string, key: string, model: string): Promise<number> {
  const started = performance.now();
  const res = await request(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: chatBody(model, false),
  });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${model} → ${res.statusCode}`);
  return performance.now() - started;
}

async function natsMs(nc: NatsConnection, subject: string, payload: unknown): Promise<number> {
  const data = new TextEncoder().encode(JSON.stringify(payload));
  const started = performance.now();
  const reply = await nc.request(subject, data, { timeout: 5_000 });
  const elapsed = performance.now() - started;
  if (reply.headers?.get("Nats-Service-Error-Code")) throw new Error(`${subject} answered an error`);
  return elapsed;
}

async function retrieveMs(base: string, key: string, id: string): Promise<number> {
  const started = performance.now();
  const res = await request(`${base}/v1/models/${id}`, { headers: { authorization: `Bearer ${key}` } });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET /v1/models/${id} → ${res.statusCode}`);
  return performance.now() - started;
}

interface ColdResult {
  /** `GET /v1/models/{id}`: the access decision alone (ingress's lookups, no provider call). */
  retrieveFirst: number[];
  retrieveSecond: number[];
  /** A chat call: the decision plus dispatch's own first read of the account. */
  chatFirst: number[];
  chatSecond: number[];
  catalogRtt: number[];
  aclRtt: number[];
}

/**
 * Three sets of `count` never-used accounts: one retrieved twice each, one called twice each, and
 * one whose two lookups are asked directly over NATS (so none of them was warm in any cache).
 */
async function measureCold(
  gh: RunningGatehouse,
  p: Provisioned,
  natsUrl: string,
  accounts: number,
  count: number,
): Promise<ColdResult> {
  const out: ColdResult = {
    retrieveFirst: [],
    retrieveSecond: [],
    chatFirst: [],
    chatSecond: [],
    catalogRtt: [],
    aclRtt: [],
  };
  const base = gh.ingressUrls[0] ?? "";
  // Spread over the catalog; granted first (a grant is not an access event: nothing is cached).
  const picks = Array.from({ length: 3 * count }, (_, i) => Math.floor(((i + 0.5) * accounts) / (3 * count)));
  for (const i of picks) await grantUser(gh.admin, accountName(i), p.virtualAccountId);
  const model = (i: number) => `${accountName(i)}/model-7-of-account-${i}`;
  for (const i of picks.slice(0, count)) {
    out.retrieveFirst.push(await retrieveMs(base, p.vat.key, model(i)));
    out.retrieveSecond.push(await retrieveMs(base, p.vat.key, model(i)));
  }
  for (const i of picks.slice(count, 2 * count)) {
    out.chatFirst.push(await chatMs(base, p.vat.key, model(i)));
    out.chatSecond.push(await chatMs(base, p.vat.key, model(i)));
  }
  const nc = await connect({ servers: natsUrl, name: "gatehouse-bench-catalog" });
  try {
    const principal = { id: p.virtualAccountId, kind: "virtual_account", role: "member" };
    for (const i of picks.slice(2 * count)) {
      out.catalogRtt.push(
        await natsMs(nc, `${gh.prefix}.v1.dispatch.catalog.account`, { name: accountName(i) }),
      );
      out.aclRtt.push(await natsMs(nc, `${gh.prefix}.v1.acl.check`, { principal, account: accountName(i) }));
    }
  } finally {
    await nc.close();
  }
  return out;
}

async function measureList(admin: AdminClient, runs: number) {
  const results: { ms: number; bytes: number; models: number; hasMore: boolean }[] = [];
  for (let r = 0; r < runs; r++) {
    const started = performance.now();
    const res = await request(`${admin.base}/v1/models`, {
      headers: { authorization: `Bearer ${admin.key}` },
      bodyTimeout: 120_000,
    });
    const text = await res.body.text();
    const body = JSON.parse(text) as { data: unknown[]; has_more: boolean };
    results.push({
      ms: performance.now() - started,
      bytes: Buffer.byteLength(text),
      models: body.data.length,
      hasMore: body.has_more,
    });
  }
  return results;
}

async function main(): Promise<void> {
  const base = resolve(process.env.INIT_CWD ?? process.cwd(), option("base", REPO_ROOT));
  if (!existsSync(resolve(base, "packages/launcher/dist/main.js"))) {
    throw new Error(`--base=${base} is not a built checkout (run pnpm install && pnpm build there)`);
  }
  const accounts = boundedInt("accounts", 10_000, 1, 1_000_000);
  const models = boundedInt("models", 100, 1, 1_000);
  const cold = boundedInt("cold", 200, 1, 10_000);
  const rounds = boundedInt("rounds", 6, 1, 100);
  const seconds = boundedInt("seconds", 3, 1, 120);
  if (3 * cold > accounts) throw new Error("--cold must be at most a third of --accounts");
  const cleanup = new Cleanup();
  process.once("SIGINT", () => void cleanup.run().then(() => process.exit(130)));
  try {
    const { url: mockUrl } = await startMockProcess(cleanup);
    const natsUrl = await obtainNats(cleanup);
    const start = async (root: string) => {
      const gh = await startGatehouse({ shape: "one", natsUrl, cleanup, root });
      const provisioned = await provision(gh, mockUrl);
      return { gh, provisioned };
    };
    log(`starting A (${base}) and B (${REPO_ROOT}) …`);
    const a = await start(base);
    const b = await start(REPO_ROOT);
    log(`loading ${accounts} accounts × ${models} models into B …`);
    const loadStarted = performance.now();
    await loadCatalog(b.gh.admin, accounts, models);
    const loadS = (performance.now() - loadStarted) / 1000;
    for (const side of [a, b]) await verifyAndWarm(side.gh, side.provisioned);
    const targets = [gatehouseTarget(a.gh, a.provisioned), gatehouseTarget(b.gh, b.provisioned)] as const;
    const sides: [Side, Side] = [
      {
        label: `${base === REPO_ROOT ? "this checkout" : base}, 1 account`,
        values: [],
        totals: [],
        roundP50: [],
        failures: 0,
      },
      {
        label: `this checkout, ${accounts}×${models} loaded`,
        values: [],
        totals: [],
        roundP50: [],
        failures: 0,
      },
    ];
    for (const t of targets) await measure(t, "small", 2, 10);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [0, 1, 1, 0] : [1, 0, 0, 1];
      const perRound: [number[], number[]] = [[], []];
      for (const i of order) {
        const side = i === 0 ? 0 : 1;
        const result = await measure(targets[side], "small", seconds, 0);
        sides[side].values.push(...result.values);
        sides[side].failures += result.failures;
        perRound[side].push(...result.values);
      }
      for (const s of [0, 1] as const)
        sides[s].roundP50.push(
          percentile(
            perRound[s].sort((x, y) => x - y),
            50,
          ),
        );
      log(
        `round ${round + 1}/${rounds}: p50 A ${ms(sides[0].roundP50.at(-1) ?? Number.NaN)} B ${ms(sides[1].roundP50.at(-1) ?? Number.NaN)}`,
      );
    }
    log(`cold accounts (${cold}) …`);
    const c = await measureCold(b.gh, b.provisioned, natsUrl, accounts, cold);
    log("GET /v1/models as an admin …");
    const lists = await measureList(b.gh.admin, 3);

    const s = (v: number[]) => summarize(v);
    const minus = (x: number[], y: number[]) => x.map((v, i) => v - (y[i] ?? v));
    const rows: [string, number[]][] = [
      ["`GET /v1/models/{id}`, first (cold account)", c.retrieveFirst],
      ["`GET /v1/models/{id}`, second", c.retrieveSecond],
      ["first − second, per account", minus(c.retrieveFirst, c.retrieveSecond)],
      ["chat call, first (cold account)", c.chatFirst],
      ["chat call, second", c.chatSecond],
      ["first − second, per account", minus(c.chatFirst, c.chatSecond)],
      ["`dispatch.catalog.account` alone, over NATS", c.catalogRtt],
      ["`acl.check` alone, over NATS", c.aclRtt],
    ];
    console.log(
      `\nNode ${process.version}; ${accounts} accounts × ${models} models loaded in ${loadS.toFixed(0)} s\n`,
    );
    console.log(`Warm call, c=1, ${count(rounds, "round")} A B B A:\n`);
    console.log(formatComparison(sides[0], sides[1], "latency (c=1)"));
    console.log(`\nCold accounts (${cold} per group of rows, never used before, each used twice):\n`);
    console.log("| ms | p50 | p99 | mean |\n|---|--:|--:|--:|");
    for (const [name, v] of rows)
      console.log(`| ${name} | ${ms(s(v).p50)} | ${ms(s(v).p99)} | ${ms(s(v).mean)} |`);
    console.log("\n`GET /v1/models` as an admin (every account):\n");
    console.log("| run | models | has_more | MB | s |\n|--:|--:|---|--:|--:|");
    lists.forEach((l, i) => {
      console.log(
        `| ${i + 1} | ${l.models} | ${l.hasMore} | ${(l.bytes / 1e6).toFixed(1)} | ${(l.ms / 1000).toFixed(2)} |`,
      );
    });
  } finally {
    await cleanup.run();
  }
}

if (process.argv[1]?.endsWith("catalog.js")) {
  main().catch((err: unknown) => {
    log(`catalog bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  });
}
