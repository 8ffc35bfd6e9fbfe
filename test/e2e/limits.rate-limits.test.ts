import Anthropic from "@anthropic-ai/sdk";
import { generateKey } from "@gatehouse/keys";
import { waitFor } from "@gatehouse/testkit";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { chatThrough, createAccount, grant, must, appWithKey as newApp } from "./access-api.js";
import { call, newMember } from "./identity-api.js";

/**
 * Rate limits as a user meets them (docs/governance.md): the admin API on the consolidated path,
 * one limit shared by three ingress replicas, 429 in each dialect with the headers the SDKs read,
 * a limit deleted while replicas hold slices of it, and acl unreachable (fail closed / fail open).
 */
type ErrorJson = { error: { code: string } };

let stack: TestStack;
let adminKey: string;
const ACCOUNT = "rl-mock";

beforeAll(async () => {
  adminKey = generateKey("pat");
  stack = await startTestStack({
    ingressReplicas: 3,
    env: {
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      QUOTA_SLICE_FRACTION: "0.2",
      // acl is stopped below: the replicas keep trusting their cached grants for the lease, so the
      // outcome is the limit's alone, however slow this machine is.
      ACCESS_LEASE_MS: "20000",
    },
  });
  await createAccount(stack, adminKey, ACCOUNT, ["echo"]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

function appWithKey(name: string) {
  return newApp(stack, adminKey, ACCOUNT, name);
}

function chat(replica: number, key: string, body: Record<string, unknown> = {}) {
  return chatThrough(stack.ingress[replica]?.url, key, ACCOUNT, body);
}

async function createLimit(body: Record<string, unknown>) {
  return must(stack, adminKey, "POST", "/api/v1/rate-limits", body, 201);
}

describe("the rate-limit admin API", () => {
  it("creates, lists, reads and deletes limits; only tenant admins; every change audited", async () => {
    const { vaId } = await appWithKey("crud");
    const created = await createLimit({
      subject: { kind: "virtual_account", id: vaId },
      scope: { provider_account: ACCOUNT, model: "echo" },
      requests_per_minute: 100,
    });
    expect(created).toMatchObject({
      subject: { kind: "virtual_account", id: vaId },
      scope: { provider_account: ACCOUNT, model: "echo" },
      requests_per_minute: 100,
      tokens_per_minute: null,
      fail_open: false,
    });
    // Created like a revoke: every live replica applied it before the answer.
    expect(created.propagation).toMatchObject({ replicas: 3, confirmed: 3, complete: true });
    const got = await must(stack, adminKey, "GET", `/api/v1/rate-limits/${created.id}`);
    expect(got.id).toBe(created.id);
    const list = await must(stack, adminKey, "GET", "/api/v1/rate-limits?limit=200");
    expect(list.data.map((l: { id: string }) => l.id)).toContain(created.id);

    const bad = await call(stack, adminKey, "POST", "/api/v1/rate-limits", {
      subject: { kind: "virtual_account", id: vaId },
    });
    expect(bad.status).toBe(422);
    const modelOnly = await call(stack, adminKey, "POST", "/api/v1/rate-limits", {
      subject: { kind: "virtual_account", id: vaId },
      scope: { model: "echo" },
      requests_per_minute: 1,
    });
    expect(modelOnly.status).toBe(422);

    const member = await newMember(stack, adminKey, "rl");
    const refused = await call(stack, member.key, "POST", "/api/v1/rate-limits", {
      subject: { kind: "user", id: member.user.id },
      requests_per_minute: 1_000_000,
    });
    expect(refused.status).toBe(403);
    expect((await call(stack, member.key, "DELETE", `/api/v1/rate-limits/${created.id}`)).status).toBe(403);

    const deleted = await must(stack, adminKey, "DELETE", `/api/v1/rate-limits/${created.id}`);
    expect(deleted.propagation).toMatchObject({ replicas: 3, confirmed: 3, complete: true });
    expect((await call(stack, adminKey, "GET", `/api/v1/rate-limits/${created.id}`)).status).toBe(404);

    const audit = await must(stack, adminKey, "GET", "/api/v1/access-audit-events?source=acl&limit=50");
    const rows = audit.data.filter((e: { target_id: string | null }) => e.target_id === created.id);
    const actions = rows.map((e: { action: string; outcome: string }) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        "rate_limit.create:success",
        "rate_limit.delete:success",
        "rate_limit.delete:denied",
      ]),
    );
  });

  it("shows a user the limits on them and on their teams", async () => {
    const member = await newMember(stack, adminKey, "mine");
    const team = await must(stack, adminKey, "POST", "/api/v1/teams", { name: `rl-team-${Date.now()}` }, 201);
    await must(stack, adminKey, "POST", `/api/v1/teams/${team.id}/members`, { user_id: member.user.id }, 201);
    const own = await createLimit({ subject: { kind: "user", id: member.user.id }, requests_per_minute: 50 });
    const teams = await createLimit({ subject: { kind: "team", id: team.id }, tokens_per_minute: 5_000 });
    const other = await newMember(stack, adminKey, "other");
    await createLimit({ subject: { kind: "user", id: other.user.id }, requests_per_minute: 7 });
    const mine = await must(stack, member.key, "GET", "/api/v1/me/limits");
    expect(mine.rate_limits.map((l: { id: string }) => l.id).sort()).toEqual([own.id, teams.id].sort());
  });
});

describe("enforcement at ingress", () => {
  it("one limit shared by three replicas admits exactly its requests per minute", async () => {
    const { vaId, key } = await appWithKey("shared");
    await createLimit({ subject: { kind: "virtual_account", id: vaId }, requests_per_minute: 12 });
    const statuses: number[] = [];
    // Round-robin over the replicas, a few at a time, as a load balancer would spread them.
    for (let round = 0; round < 6; round++) {
      const batch = await Promise.all([0, 1, 2, 0, 1, 2].map((r) => chat(r, key)));
      for (const res of batch) {
        statuses.push(res.status);
        await res.arrayBuffer();
      }
    }
    const admitted = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    // A window that ended mid-test admits a second minute's worth; never more.
    expect(admitted).toBeGreaterThanOrEqual(12);
    expect(admitted).toBeLessThanOrEqual(24);
    expect(admitted + limited).toBe(36);
  });

  it("answers 429 in the OpenAI dialect with Retry-After and x-ratelimit-* headers, on success too", async () => {
    const { vaId, key } = await appWithKey("openai-429");
    await createLimit({
      subject: { kind: "virtual_account", id: vaId },
      requests_per_minute: 2,
      tokens_per_minute: 100_000,
    });
    const ok = await chat(0, key);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(ok.headers.get("x-ratelimit-limit-tokens")).toBe("100000");
    expect(Number(ok.headers.get("x-ratelimit-remaining-requests"))).toBeLessThanOrEqual(1);
    expect(ok.headers.get("x-ratelimit-reset-requests")).toMatch(/^\d+(\.\d)?s$/);
    await ok.arrayBuffer();
    // The stream's 200 carries them as well.
    const streamed = await chat(0, key, { stream: true });
    if (streamed.status === 200) {
      expect(streamed.headers.get("x-ratelimit-limit-requests")).toBe("2");
      await streamed.text();
    }
    const openai = new OpenAI({ apiKey: key, baseURL: `${stack.ingress[0]?.url}/v1`, maxRetries: 0 });
    let caught: unknown;
    for (let i = 0; i < 3 && caught === undefined; i++) {
      try {
        await openai.chat.completions.create({
          model: `${ACCOUNT}/echo`,
          messages: [{ role: "user", content: "x" }],
        });
      } catch (err) {
        caught = err;
      }
    }
    expect(caught).toBeInstanceOf(OpenAI.RateLimitError);
    const e = caught as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.status).toBe(429);
    expect(e.code).toBe("rate_limited");
    expect(e.type).toBe("rate_limit_error");
    const retryAfter = Number(e.headers?.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(e.headers?.get("x-ratelimit-remaining-requests")).toBe("0");
  });

  it("answers 429 in the Anthropic dialect with anthropic-ratelimit-* headers", async () => {
    const { vaId, key } = await appWithKey("anthropic-429");
    await createLimit({ subject: { kind: "virtual_account", id: vaId }, requests_per_minute: 1 });
    const anthropic = new Anthropic({ apiKey: key, baseURL: stack.ingress[1]?.url, maxRetries: 0 });
    const ask = () =>
      anthropic.messages.create({
        model: `${ACCOUNT}/echo`,
        max_tokens: 16,
        messages: [{ role: "user", content: "hi" }],
      });
    let caught: unknown;
    for (let i = 0; i < 3 && caught === undefined; i++) {
      try {
        await ask();
      } catch (err) {
        caught = err;
      }
    }
    expect(caught).toBeInstanceOf(Anthropic.RateLimitError);
    const e = caught as InstanceType<typeof Anthropic.RateLimitError>;
    expect((e.error as { error?: { type?: string } }).error?.type).toBe("rate_limit_error");
    expect(e.headers?.get("anthropic-ratelimit-requests-limit")).toBe("1");
    expect(e.headers?.get("anthropic-ratelimit-requests-remaining")).toBe("0");
    expect(Number.isNaN(Date.parse(e.headers?.get("anthropic-ratelimit-requests-reset") ?? ""))).toBe(false);
    expect(Number(e.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("refuses a call whose token pre-charge the window cannot hold, and admits a small one", async () => {
    const { vaId, key } = await appWithKey("tokens");
    await createLimit({ subject: { kind: "virtual_account", id: vaId }, tokens_per_minute: 500 });
    const big = await chat(2, key, { max_tokens: 1_000 });
    expect(big.status).toBe(429);
    expect(((await big.json()) as ErrorJson).error.code).toBe("rate_limited");
    // Only a new window could hold more; a small call in a fresh window passes.
    const other = await appWithKey("tokens-small");
    await createLimit({ subject: { kind: "virtual_account", id: other.vaId }, tokens_per_minute: 500 });
    const small = await chat(2, other.key, { max_tokens: 10 });
    expect(small.status).toBe(200);
    expect(Number(small.headers.get("x-ratelimit-remaining-tokens"))).toBeLessThan(500);
  });

  it("counts a team's limit for calls through the team's grant only", async () => {
    const viaTeam = await newMember(stack, adminKey, "tm");
    const direct = await newMember(stack, adminKey, "td");
    const team = await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/teams",
      { name: `grant-team-${Date.now()}` },
      201,
    );
    for (const m of [viaTeam, direct])
      await must(stack, adminKey, "POST", `/api/v1/teams/${team.id}/members`, { user_id: m.user.id }, 201);
    const account = `rl-team-${Date.now()}`;
    await createAccount(stack, adminKey, account, ["echo"]);
    await grant(stack, adminKey, account, { kind: "team", id: team.id });
    await grant(stack, adminKey, account, { kind: "user", id: direct.user.id });
    await createLimit({ subject: { kind: "team", id: team.id }, requests_per_minute: 1 });
    const ask = (key: string) =>
      fetch(`${stack.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: `${account}/echo`, messages: [{ role: "user", content: "hi" }] }),
      });
    const teamStatuses = [];
    for (let i = 0; i < 3; i++) teamStatuses.push((await ask(viaTeam.key)).status);
    expect(teamStatuses).toContain(429);
    for (let i = 0; i < 3; i++) expect((await ask(direct.key)).status).toBe(200);
  });

  it("a limit deleted while replicas hold slices of it limits nothing once the delete returned", async () => {
    const { vaId, key } = await appWithKey("deleted");
    const limit = await createLimit({
      subject: { kind: "virtual_account", id: vaId },
      requests_per_minute: 3,
    });
    // Every replica leases a slice; the window runs out.
    let refused = 0;
    for (let i = 0; i < 12; i++) if ((await chat(i % 3, key)).status === 429) refused++;
    expect(refused).toBeGreaterThan(0);
    await must(stack, adminKey, "DELETE", `/api/v1/rate-limits/${limit.id}`);
    for (let i = 0; i < 6; i++) expect((await chat(i % 3, key)).status).toBe(200);
  });
});

describe("acl unreachable", () => {
  it("serves from the slice held, then 503 (fail closed); a fail-open limit keeps admitting", async () => {
    const closed = await appWithKey("closed");
    const open = await appWithKey("open");
    await createLimit({ subject: { kind: "virtual_account", id: closed.vaId }, requests_per_minute: 50 });
    await createLimit({
      subject: { kind: "virtual_account", id: open.vaId },
      requests_per_minute: 50,
      fail_open: true,
    });
    // Warm both: the grant decision is cached and a slice (10 requests) is held.
    expect((await chat(0, closed.key)).status).toBe(200);
    expect((await chat(0, open.key)).status).toBe(200);
    await stack.stopService("acl");
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) {
        const res = await chat(0, closed.key);
        statuses.push(res.status);
        if (res.status !== 200) {
          const body = (await res.json()) as ErrorJson;
          expect(body.error.code).toBe("service_unavailable");
        } else await res.arrayBuffer();
      }
      expect(statuses).not.toContain(429);
      expect(statuses[0]).toBe(200);
      expect(statuses.at(-1)).toBe(503);
      for (let i = 0; i < 25; i++) expect((await chat(0, open.key)).status).toBe(200);
    } finally {
      await stack.startService("acl");
    }
    await waitFor(
      async () => {
        const res = await chat(0, closed.key);
        await res.arrayBuffer();
        return res.status === 200;
      },
      30_000,
      200,
    );
  });
});
