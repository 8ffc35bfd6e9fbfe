import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import { connectBus } from "@gatehouse/bus";
import { type UsageRecord, usageSubject } from "@gatehouse/contracts";
import { generateKey } from "@gatehouse/keys";
import { captureLogger, waitFor } from "@gatehouse/testkit";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { chatThrough, grant, must, appWithKey as newApp } from "./access-api.js";
import { call, newMember } from "./identity-api.js";

/**
 * Budgets as a user meets them (docs/governance.md): the admin API, a spent budget refused with
 * 429 `insufficient_quota` and `x-should-retry: false` in both dialects (the SDKs do not retry), a
 * budget crossed by a stream in flight, one budget shared by three replicas, acl unreachable, a
 * budget deleted while leased, the 80 % / 100 % webhooks once each, and spend that survives an acl
 * restart. The built-in mock provider answers with known usage (a word a token; "hi" costs 2
 * prompt and 2 completion tokens) and the model costs $1,000 per million tokens: $0.001 a token.
 */
type ErrorJson = { error: { code: string; type: string } };

let stack: TestStack;
let adminKey: string;
const ACCOUNT = "budget-mock";
const TOKEN_USD = 0.001;
const hooks: Array<{ type: string; data: { budget_id: string; spent_usd: number } }> = [];
let hookServer: Server;

beforeAll(async () => {
  adminKey = generateKey("pat");
  hookServer = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      hooks.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
  stack = await startTestStack({
    ingressReplicas: 3,
    env: {
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      QUOTA_SLICE_FRACTION: "0.2",
      ACCESS_LEASE_MS: "20000",
      AUTH_WEBHOOK_KEY: randomBytes(32).toString("base64"),
      AUTH_WEBHOOK_POLL_MS: "100",
    },
  });
  const price = { input_price_per_mtok: TOKEN_USD * 1e6, output_price_per_mtok: TOKEN_USD * 1e6 };
  await must(
    stack,
    adminKey,
    "POST",
    "/api/v1/provider-accounts",
    { name: ACCOUNT, type: "mock", models: [{ name: "echo", kind: "chat", ...price }] },
    201,
  );
  const port = (hookServer.address() as AddressInfo).port;
  await must(
    stack,
    adminKey,
    "POST",
    "/api/v1/webhooks/endpoints",
    { url: `http://127.0.0.1:${port}/hook`, event_types: ["budget.threshold", "budget.exhausted"] },
    201,
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => hookServer?.close(resolve));
});

function appWithKey(name: string) {
  return newApp(stack, adminKey, ACCOUNT, name);
}

function chat(replica: number, key: string, body: Record<string, unknown> = {}) {
  return chatThrough(stack.ingress[replica]?.url, key, ACCOUNT, { max_tokens: 8, ...body });
}

async function createBudget(vaId: string, maxUsd: number, extra: Record<string, unknown> = {}) {
  return must(
    stack,
    adminKey,
    "POST",
    "/api/v1/budgets",
    { subject: { kind: "virtual_account", id: vaId }, max_usd: maxUsd, period: "month", ...extra },
    201,
  );
}

const budgetOf = (id: string) => must(stack, adminKey, "GET", `/api/v1/budgets/${id}`);

type StoredRecord = { id: string; request_id: string; at: string; key_id: string; cost_usd: number | null };

/** The usage records of a virtual account's calls of the last hour, as dispatch stored them. */
async function recordsOf(vaId: string): Promise<StoredRecord[]> {
  const from = new Date(Date.now() - 3_600_000).toISOString();
  const to = new Date(Date.now() + 60_000).toISOString();
  const query = `principal_id=${vaId}&from=${from}&to=${to}&limit=1000`;
  return (await must(stack, adminKey, "GET", `/api/v1/usage/records?${query}`)).data;
}

/** What the usage records of a virtual account's calls cost. */
async function recordedCost(vaId: string): Promise<number> {
  return (await recordsOf(vaId)).reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
}

/** Waits until acl counted every stored record of the account (the usage stream is asynchronous). */
async function spentSettles(budgetId: string, vaId: string): Promise<number> {
  let spent = -1;
  await waitFor(
    async () => {
      const [b, cost] = await Promise.all([budgetOf(budgetId), recordedCost(vaId)]);
      spent = b.spent_usd;
      return cost > 0 && Math.abs(b.spent_usd - cost) < 1e-9;
    },
    30_000,
    200,
  );
  return spent;
}

/**
 * One stream of 100 one-letter words: pre-charged ~80 tokens (its JSON at 4 bytes a token, no
 * max_tokens) but it costs 101 prompt + 101 completion tokens.
 */
const LONG_STREAM_USD = 202 * TOKEN_USD;
function longStream(key: string) {
  return chat(0, key, {
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: undefined,
    messages: [{ role: "user", content: Array.from({ length: 100 }, () => "a").join(" ") }],
  });
}

/** Calls until one is refused; the statuses in order. */
async function spend(key: string, replicas: number[] = [0], most = 60): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < most; i++) {
    const res = await chat(replicas[i % replicas.length] ?? 0, key);
    statuses.push(res.status);
    await res.arrayBuffer();
    if (res.status !== 200) break;
  }
  return statuses;
}

describe("the budget admin API", () => {
  it("creates, lists, reads and deletes budgets; validates; only tenant admins; audited; shown to the subject", async () => {
    const { vaId } = await appWithKey("crud");
    const created = await createBudget(vaId, 25, {
      period: "week",
      scope: { provider_account: ACCOUNT, model: "echo" },
    });
    expect(created).toMatchObject({
      subject: { kind: "virtual_account", id: vaId },
      scope: { provider_account: ACCOUNT, model: "echo" },
      max_usd: 25,
      period: "week",
      fail_open: false,
      spent_usd: 0,
      remaining_usd: 25,
    });
    expect(created.propagation).toMatchObject({ replicas: 3, confirmed: 3, complete: true });
    // An ISO week ends on a Monday, 00:00 UTC, within 7 days.
    const resets = new Date(created.resets_at);
    expect(resets.getUTCDay()).toBe(1);
    expect(resets.getUTCHours() + resets.getUTCMinutes()).toBe(0);
    expect(resets.getTime() - Date.now()).toBeLessThanOrEqual(7 * 86_400_000);
    const day = await createBudget(vaId, 1, { period: "day" });
    expect(new Date(day.resets_at).getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    const list = await must(stack, adminKey, "GET", "/api/v1/budgets?limit=200");
    expect(list.data.map((b: { id: string }) => b.id)).toEqual(expect.arrayContaining([created.id, day.id]));
    expect((await budgetOf(created.id)).id).toBe(created.id);

    const invalid = [
      { subject: { kind: "virtual_account", id: vaId }, max_usd: 0, period: "day" },
      { subject: { kind: "virtual_account", id: vaId }, max_usd: -1, period: "day" },
      { subject: { kind: "virtual_account", id: vaId }, max_usd: 1e12, period: "day" },
      { subject: { kind: "virtual_account", id: vaId }, max_usd: 5, period: "year" },
      { subject: { kind: "virtual_account", id: vaId }, max_usd: 5 },
      { subject: { kind: "virtual_account", id: vaId }, max_usd: 5, period: "day", scope: { model: "echo" } },
      { subject: { kind: "virtual_account", id: crypto.randomUUID() }, max_usd: 5, period: "day" },
      { subject: { kind: "user", id: crypto.randomUUID() }, max_usd: 5, period: "day" },
      { subject: { kind: "team", id: crypto.randomUUID() }, max_usd: 5, period: "day" },
    ];
    for (const body of invalid) {
      const res = await call(stack, adminKey, "POST", "/api/v1/budgets", body);
      expect([res.status, body]).toEqual([422, body]);
    }

    const member = await newMember(stack, adminKey, "budget");
    const refused = await call(stack, member.key, "POST", "/api/v1/budgets", {
      subject: { kind: "user", id: member.user.id },
      max_usd: 1_000,
      period: "month",
    });
    expect(refused.status).toBe(403);
    expect((await call(stack, member.key, "DELETE", `/api/v1/budgets/${created.id}`)).status).toBe(403);
    expect((await call(stack, member.key, "GET", "/api/v1/budgets")).status).toBe(403);

    const own = await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/budgets",
      { subject: { kind: "user", id: member.user.id }, max_usd: 3, period: "day" },
      201,
    );
    const mine = await must(stack, member.key, "GET", "/api/v1/me/limits");
    expect(mine.budgets.map((b: { id: string }) => b.id)).toEqual([own.id]);

    const deleted = await must(stack, adminKey, "DELETE", `/api/v1/budgets/${created.id}`);
    expect(deleted.propagation).toMatchObject({ replicas: 3, confirmed: 3, complete: true });
    expect((await call(stack, adminKey, "GET", `/api/v1/budgets/${created.id}`)).status).toBe(404);
    const audit = await must(stack, adminKey, "GET", "/api/v1/access-audit-events?source=acl&limit=100");
    const actions = audit.data
      .filter((e: { target_id: string | null }) => e.target_id === created.id)
      .map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining(["budget.create:success", "budget.delete:success", "budget.delete:denied"]),
    );
  });
});

describe("a spent budget", () => {
  it("answers 429 insufficient_quota with x-should-retry: false; the remaining budget shows on success", async () => {
    const { vaId, key } = await appWithKey("spent");
    // Each call costs $0.004 and is pre-charged ~$0.033 (its JSON at 4 bytes a token, and max_tokens).
    const budget = await createBudget(vaId, 0.1);
    const first = await chat(0, key);
    expect(first.status).toBe(200);
    const remaining = Number(first.headers.get("x-gatehouse-budget-remaining-usd"));
    expect(remaining).toBeGreaterThanOrEqual(0);
    expect(remaining).toBeLessThan(0.1);
    await first.arrayBuffer();
    const statuses = await spend(key);
    expect(statuses.at(-1)).toBe(429);
    const refused = await chat(0, key);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-should-retry")).toBe("false");
    expect(refused.headers.get("retry-after")).toBeNull();
    const body = (await refused.json()) as ErrorJson;
    expect(body.error).toMatchObject({ code: "insufficient_quota", type: "insufficient_quota" });

    // The official SDKs read x-should-retry: each makes one request, however many retries it may.
    let requests = 0;
    const counting: typeof fetch = (input, init) => {
      requests++;
      return fetch(input, init);
    };
    const openai = new OpenAI({
      apiKey: key,
      baseURL: `${stack.ingress[0]?.url}/v1`,
      maxRetries: 3,
      fetch: counting,
    });
    const caught = await openai.chat.completions
      .create({ model: `${ACCOUNT}/echo`, max_tokens: 1_000, messages: [{ role: "user", content: "hi" }] })
      .catch((err: unknown) => err);
    expect(caught).toBeInstanceOf(OpenAI.RateLimitError);
    expect((caught as InstanceType<typeof OpenAI.RateLimitError>).code).toBe("insufficient_quota");
    expect(requests).toBe(1);

    requests = 0;
    const anthropic = new Anthropic({
      apiKey: key,
      baseURL: stack.ingress[1]?.url,
      maxRetries: 3,
      fetch: counting,
    });
    const denied = await anthropic.messages
      .create({ model: `${ACCOUNT}/echo`, max_tokens: 1_000, messages: [{ role: "user", content: "hi" }] })
      .catch((err: unknown) => err);
    expect(denied).toBeInstanceOf(Anthropic.RateLimitError);
    const error = (denied as InstanceType<typeof Anthropic.RateLimitError>).error as {
      type: string;
      error: { type: string };
    };
    expect(error.type).toBe("error");
    expect(error.error.type).toBe("rate_limit_error");
    expect(requests).toBe(1);

    // What was admitted never cost more than the budget: every call fit its pre-charge.
    const spent = await spentSettles(budget.id, vaId);
    expect(spent).toBeLessThanOrEqual(0.1 + 1e-9);
    expect(spent).toBeGreaterThan(0);
  });

  it("a stream in flight finishes past the budget; the next call is refused; spend is its actual cost", async () => {
    const { vaId, key } = await appWithKey("stream");
    const budget = await createBudget(vaId, 0.15);
    const res = await longStream(key);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("[DONE]");
    const next = await chat(0, key);
    expect(next.status).toBe(429);
    expect(((await next.json()) as ErrorJson).error.code).toBe("insufficient_quota");
    const spent = await spentSettles(budget.id, vaId);
    expect(spent).toBeCloseTo(LONG_STREAM_USD, 9);
    const shown = await budgetOf(budget.id);
    expect(shown.remaining_usd).toBe(0);
  });

  it("one budget shared by three replicas admits no more than it holds", async () => {
    const { vaId, key } = await appWithKey("shared");
    const budget = await createBudget(vaId, 0.1);
    const statuses: number[] = [];
    for (let round = 0; round < 10 && !statuses.includes(429); round++) {
      const batch = await Promise.all([0, 1, 2, 0, 1, 2].map((r) => chat(r, key)));
      for (const res of batch) {
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    // Each call costs $0.004 and was pre-charged more than that (max_tokens covers its answer).
    const spent = await spentSettles(budget.id, vaId);
    expect(spent).toBeLessThanOrEqual(0.1 + 1e-9);
    expect(statuses.filter((s) => s === 200).length).toBe(Math.round(spent / 0.004));
  });

  it("a call that could cost more than the whole budget is refused without taking the budget from other replicas", async () => {
    const { vaId, key } = await appWithKey("greedy");
    await createBudget(vaId, 1);
    // max_tokens 100,000 at $0.001 a token: a $100 pre-charge against a $1 budget.
    const greedy = await chat(0, key, { max_tokens: 100_000 });
    expect(greedy.status).toBe(429);
    const body = (await greedy.json()) as ErrorJson & { error: { message: string } };
    expect(body.error.code).toBe("insufficient_quota");
    expect(body.error.message).toMatch(/max_tokens/);
    // Nothing was spent: every replica still admits an ordinary call.
    for (const replica of [1, 2, 0]) {
      const res = await chat(replica, key);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  });

  it("a budget deleted while replicas hold slices of it limits nothing once the delete returned", async () => {
    const { vaId, key } = await appWithKey("deleted");
    const budget = await createBudget(vaId, 0.1);
    expect((await spend(key, [0, 1, 2])).at(-1)).toBe(429);
    await must(stack, adminKey, "DELETE", `/api/v1/budgets/${budget.id}`);
    for (let i = 0; i < 6; i++) {
      const res = await chat(i % 3, key);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-gatehouse-budget-remaining-usd")).toBeNull();
      await res.arrayBuffer();
    }
  });
});

describe("webhooks and restarts", () => {
  it("announces budget.threshold and budget.exhausted once each; spend survives an acl restart, counted once", async () => {
    const crossed = await appWithKey("hooks");
    const budget = await createBudget(crossed.vaId, 0.15);
    const res = await longStream(crossed.key);
    expect(res.status).toBe(200);
    await res.text();
    const of = (type: string, id: string) => hooks.filter((h) => h.type === type && h.data.budget_id === id);
    await waitFor(() => of("budget.exhausted", budget.id).length > 0, 30_000, 100);
    await waitFor(() => of("budget.threshold", budget.id).length > 0, 30_000, 100);
    expect(of("budget.exhausted", budget.id)[0]?.data.spent_usd).toBeCloseTo(LONG_STREAM_USD, 9);

    // Calls served from a slice while acl is down are counted when it is back, once each.
    const steady = await appWithKey("restart");
    const big = await createBudget(steady.vaId, 10);
    expect((await chat(0, steady.key)).status).toBe(200);
    await stack.stopService("acl");
    try {
      for (let i = 0; i < 5; i++) {
        const ok = await chat(0, steady.key);
        expect(ok.status).toBe(200);
        await ok.arrayBuffer();
      }
    } finally {
      await stack.startService("acl");
    }
    expect(await spentSettles(big.id, steady.vaId)).toBeCloseTo(6 * 0.004, 9);
    expect((await budgetOf(budget.id)).spent_usd).toBeCloseTo(LONG_STREAM_USD, 9);
    // Give a duplicate the time to arrive, then count: once per period each.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(of("budget.threshold", budget.id)).toHaveLength(1);
    expect(of("budget.exhausted", budget.id)).toHaveLength(1);
    expect(of("budget.threshold", big.id)).toHaveLength(0);
  });
});

describe("a budget spent by calls that each fit their pre-charge", () => {
  it("announces budget.exhausted once it refuses calls, though its spend stays short of max_usd", async () => {
    const { vaId, key } = await appWithKey("refused-hook");
    const budget = await createBudget(vaId, 0.1);
    expect((await spend(key)).at(-1)).toBe(429);
    const spent = await spentSettles(budget.id, vaId);
    // Each call needed ~$0.033 of slice to start and cost $0.004: the last cents were never spent.
    expect(spent).toBeLessThan(0.1);
    const of = (type: string) => hooks.filter((h) => h.type === type && h.data.budget_id === budget.id);
    await waitFor(() => of("budget.exhausted").length > 0, 15_000, 100);
    expect((await spend(key)).at(-1)).toBe(429);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(of("budget.exhausted")).toHaveLength(1);
  });
});

describe("a team's budget", () => {
  it("counts its members' calls through the team's grant, not their calls through a direct grant", async () => {
    const member = await newMember(stack, adminKey, "team-budget");
    const team = await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/teams",
      { name: `budget-team-${Date.now()}` },
      201,
    );
    await must(stack, adminKey, "POST", `/api/v1/teams/${team.id}/members`, { user_id: member.user.id }, 201);
    const viaTeam = `budget-team-${Date.now()}`;
    const direct = `budget-direct-${Date.now()}`;
    const price = { input_price_per_mtok: TOKEN_USD * 1e6, output_price_per_mtok: TOKEN_USD * 1e6 };
    for (const name of [viaTeam, direct]) {
      await must(
        stack,
        adminKey,
        "POST",
        "/api/v1/provider-accounts",
        { name, type: "mock", models: [{ name: "echo", kind: "chat", ...price }] },
        201,
      );
    }
    await grant(stack, adminKey, viaTeam, { kind: "team", id: team.id });
    await grant(stack, adminKey, direct, { kind: "user", id: member.user.id });
    const budget = await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/budgets",
      { subject: { kind: "team", id: team.id }, max_usd: 10, period: "day" },
      201,
    );
    const ask = async (account: string) => {
      const res = await fetch(`${stack.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${member.key}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: `${account}/echo`,
          max_tokens: 8,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      return res.headers.get("x-gatehouse-budget-remaining-usd");
    };
    expect(await ask(direct)).toBeNull();
    expect(await ask(viaTeam)).not.toBeNull();
    expect(await ask(viaTeam)).not.toBeNull();
    // Both team calls, and not the direct one, reach the team's budget.
    await waitFor(async () => (await budgetOf(budget.id)).spent_usd > 0.008 - 1e-9, 30_000, 100);
    expect((await budgetOf(budget.id)).spent_usd).toBeCloseTo(0.008, 9);
    const mine = await must(stack, member.key, "GET", "/api/v1/me/limits");
    expect(mine.budgets.map((b: { id: string }) => b.id)).toEqual([budget.id]);
  });
});

describe("a usage record delivered twice", () => {
  it("is counted once: acl remembers the ids of the records it counted", async () => {
    const { vaId, key } = await appWithKey("duplicate");
    const budget = await createBudget(vaId, 10);
    const ok = await chat(0, key);
    expect(ok.status).toBe(200);
    await ok.arrayBuffer();
    const before = await spentSettles(budget.id, vaId);
    const [stored] = await recordsOf(vaId);
    if (!stored) throw new Error("no usage record stored");
    const record = (id: string, costUsd: number): UsageRecord => ({
      id,
      requestId: stored.request_id,
      at: stored.at,
      account: ACCOUNT,
      model: "echo",
      operation: "chat",
      principal: { kind: "virtual_account", id: vaId },
      keyId: stored.key_id,
      status: 200,
      stream: false,
      usage: { promptTokens: 2, completionTokens: 2, totalTokens: 4 },
      durationMs: 1,
      costUsd,
    });
    // The stored record again (as a redelivery after a crash would bring it), then a new one: once
    // the new one is counted, the one before it in the same message was seen.
    const { logger } = captureLogger("budget-duplicate");
    const bus = await connectBus({ url: stack.env.NATS_URL ?? "", name: "budget-duplicate", logger });
    try {
      const payload = JSON.stringify({
        records: [record(stored.id, stored.cost_usd ?? 0), record(crypto.randomUUID(), 0.5)],
      });
      await bus.nc.jetstream().publish(usageSubject(stack.prefix), new TextEncoder().encode(payload));
    } finally {
      await bus.drain();
    }
    await waitFor(async () => (await budgetOf(budget.id)).spent_usd > before, 30_000, 100);
    expect((await budgetOf(budget.id)).spent_usd).toBeCloseTo(before + 0.5, 9);
  });
});

describe("acl unreachable", () => {
  it("serves from the slice held, then 503 (fail closed); a fail-open budget keeps admitting", async () => {
    const closed = await appWithKey("closed");
    const open = await appWithKey("open");
    await createBudget(closed.vaId, 0.5);
    await createBudget(open.vaId, 0.5, { fail_open: true });
    expect((await chat(0, closed.key)).status).toBe(200);
    expect((await chat(0, open.key)).status).toBe(200);
    await stack.stopService("acl");
    try {
      const statuses: number[] = [];
      // A slice is $0.10 (0.2 × $0.50); a call costs $0.004 once settled and needs ~$0.045 to start.
      for (let i = 0; i < 80 && statuses.at(-1) !== 503; i++) {
        const res = await chat(0, closed.key, { max_tokens: 20 });
        statuses.push(res.status);
        if (res.status !== 200)
          expect(((await res.json()) as ErrorJson).error.code).toBe("service_unavailable");
        else await res.arrayBuffer();
      }
      expect(statuses).not.toContain(429);
      expect(statuses[0]).toBe(200);
      expect(statuses.at(-1)).toBe(503);
      for (let i = 0; i < 80; i++) {
        const res = await chat(0, open.key, { max_tokens: 20 });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
    } finally {
      await stack.startService("acl");
    }
  });
});
