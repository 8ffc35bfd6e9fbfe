import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grant, must } from "./access-api.js";
import { call, newMember } from "./identity-api.js";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

let world: InferenceWorld;
const INPUT_PRICE = 0.15;
const OUTPUT_PRICE = 0.6;
const since = new Date(Date.now() - 60_000).toISOString();

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field.
type Json = any;

async function records(key: string, query = ""): Promise<Json[]> {
  const q = `from=${encodeURIComponent(since)}${query}`;
  return (await must(world.stack, key, "GET", `/api/v1/usage/records?${q}`)).data;
}

beforeAll(async () => {
  world = await startInferenceWorld({ types: ["openai"], env: { USAGE_FLUSH_MS: "50" } });
  await must(world.stack, world.adminKey, "PATCH", "/api/v1/provider-accounts/openai-main", {
    models: [
      {
        name: "gpt-4o-mini",
        kind: "chat",
        input_price_per_mtok: INPUT_PRICE,
        output_price_per_mtok: OUTPUT_PRICE,
      },
    ],
  });
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

describe("usage records and the usage API", () => {
  let completed: Json;
  let aborted: Json;

  it("a completed call is recorded with its tokens and its cost at the model's prices", async () => {
    world.byType("openai").upstream?.setNext({ kind: "answer", text: "one two three four five" });
    const answer = await world.openai().chat.completions.create({
      model: "openai-main/gpt-4o-mini",
      messages: [{ role: "user", content: "count to five" }],
    });
    const usage = answer.usage;
    if (!usage) throw new Error("no usage");
    await waitFor(async () => (await records(world.adminKey)).length === 1, 15_000);
    [completed] = await records(world.adminKey);
    expect(completed).toMatchObject({
      principal_kind: "virtual_account",
      principal_id: world.vaId,
      provider_account: "openai-main",
      model: "gpt-4o-mini",
      operation: "chat",
      stream: false,
      status: 200,
      input_tokens: usage.prompt_tokens,
      output_tokens: usage.completion_tokens,
      estimated: false,
      route: null,
    });
    const cost = (usage.prompt_tokens * INPUT_PRICE + usage.completion_tokens * OUTPUT_PRICE) / 1e6;
    expect(completed.cost_usd).toBeCloseTo(cost, 9);
    expect(completed.ttft_ms).toEqual(expect.any(Number));
  });

  it("a stream the caller aborts is recorded with the tokens sent so far, marked estimated", async () => {
    const upstream = world.byType("openai").upstream;
    upstream?.setNext({ kind: "answer", text: "word ".repeat(200), chunks: 200, chunkDelayMs: 50 });
    const controller = new AbortController();
    const stream = await world
      .openai()
      .chat.completions.create(
        { model: "openai-main/gpt-4o-mini", messages: [{ role: "user", content: "talk" }], stream: true },
        { signal: controller.signal },
      );
    let received = 0;
    await (async () => {
      for await (const _ of stream) if (++received === 5) controller.abort();
    })().catch(() => {});
    await waitFor(async () => (await records(world.adminKey)).length === 2, 15_000);
    [aborted] = await records(world.adminKey);
    expect(aborted).toMatchObject({ stream: true, status: 499, estimated: true });
    expect(aborted.output_tokens).toBeGreaterThanOrEqual(5);
    expect(aborted.output_tokens).toBeLessThan(200);
    expect(aborted.input_tokens).toBeGreaterThan(0);
    expect(aborted.cost_usd).toBeGreaterThan(0);
  });

  it("totals group by provider account and day, from the daily totals and the partial day alike", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const expected = {
      provider_account: "openai-main",
      requests: 2,
      errors: 1,
      input_tokens: completed.input_tokens + aborted.input_tokens,
      output_tokens: completed.output_tokens + aborted.output_tokens,
    };
    // A day-aligned range reads the daily totals; a range starting mid-day reads the records.
    for (const range of [`from=${today}`, `from=${encodeURIComponent(since)}`]) {
      const body = await must(
        world.stack,
        world.adminKey,
        "GET",
        `/api/v1/usage?group_by=provider_account,day&${range}`,
      );
      expect(body.data).toHaveLength(1);
      expect(body.data[0]).toMatchObject({ ...expected, day: today });
      expect(body.data[0].cost_usd).toBeCloseTo(completed.cost_usd + aborted.cost_usd, 9);
    }
    const byVa = await must(
      world.stack,
      world.adminKey,
      "GET",
      `/api/v1/usage?group_by=virtual_account,user`,
    );
    expect(byVa.data).toEqual([expect.objectContaining({ virtual_account_id: world.vaId, user_id: null })]);
  });

  it("two calls with the same caller-chosen request id are both recorded", async () => {
    const headers = { "x-request-id": "same-id-twice" };
    for (let i = 0; i < 2; i++) {
      await world
        .openai()
        .chat.completions.create(
          { model: "openai-main/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] },
          { headers },
        );
    }
    await waitFor(
      async () =>
        (await records(world.adminKey)).filter((r) => r.request_id === "same-id-twice").length === 2,
      15_000,
    );
  });

  it("pages records with the cursor and exports them as CSV", async () => {
    const first = await must(world.stack, world.adminKey, "GET", `/api/v1/usage/records?limit=3`);
    expect(first.data).toHaveLength(3);
    const rest = await must(
      world.stack,
      world.adminKey,
      "GET",
      `/api/v1/usage/records?limit=3&cursor=${first.next_cursor}`,
    );
    expect(rest.data).toHaveLength(1);
    expect(rest.next_cursor).toBeNull();
    const ids = [...first.data, ...rest.data].map((r: Json) => r.id);
    expect(new Set(ids).size).toBe(4);

    const res = await fetch(`${world.stack.url}/api/v1/usage/records?limit=3`, {
      headers: { authorization: `Bearer ${world.adminKey}`, accept: "text/csv" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(res.headers.get("x-next-cursor")).toEqual(expect.any(String));
    const lines = (await res.text()).trim().split("\n");
    expect(lines[0]).toBe(
      "id,request_id,at,principal_kind,principal_id,key_id,team_ids,provider_account,model,route,operation,stream,status,input_tokens,output_tokens,cached_tokens,estimated,cost_usd,duration_ms,ttft_ms",
    );
    expect(lines).toHaveLength(4);
    expect(lines[1]).toContain(first.data[0].id);
  });

  it("a member sees only their own calls; a manager of the account sees the account's", async () => {
    const member = await newMember(world.stack, world.adminKey, "usage-member");
    expect(await records(member.key)).toEqual([]);
    const summary = await must(world.stack, member.key, "GET", "/api/v1/usage");
    expect(summary.data).toEqual([expect.objectContaining({ requests: 0, cost_usd: null })]);

    const manager = await newMember(world.stack, world.adminKey, "usage-manager");
    await grant(world.stack, world.adminKey, "openai-main", { kind: "user", id: manager.user.id }, "manager");
    expect(await records(manager.key)).toHaveLength(4);
    // The virtual account's own key reads its own calls.
    expect(await records(world.vat)).toHaveLength(4);
  });

  it("refuses bad parameters with 422 and strangers with 401", async () => {
    const bad = [
      "/api/v1/usage?group_by=planet",
      "/api/v1/usage?group_by=day,",
      "/api/v1/usage?from=2026-02-01&to=2026-01-01",
      "/api/v1/usage?from=2024-01-01&to=2026-01-01",
      "/api/v1/usage?from=yesterday",
      "/api/v1/usage/records?limit=5000",
      "/api/v1/usage/records?cursor=bm9wZQ",
      "/api/v1/usage/records?principal_id=not-a-uuid",
    ];
    for (const path of bad) {
      const res = await call(world.stack, world.adminKey, "GET", path);
      expect({ path, status: res.status, code: res.body?.error?.code }).toEqual({
        path,
        status: 422,
        code: "validation_failed",
      });
    }
    expect((await call(world.stack, undefined, "GET", "/api/v1/usage")).status).toBe(401);
  });

  it("groups by a group named twice once, and answers JSON to an Accept that refuses CSV", async () => {
    const once = await must(world.stack, world.adminKey, "GET", "/api/v1/usage?group_by=day,model");
    const twice = await must(
      world.stack,
      world.adminKey,
      "GET",
      `/api/v1/usage?group_by=${Array(8).fill("day,model").join(",")}`,
    );
    expect(twice).toEqual(once);
    const res = await call(world.stack, world.adminKey, "GET", "/api/v1/usage/records?limit=1", undefined, {
      accept: "text/csv;q=0, application/json",
    });
    expect(res.status).toBe(200);
    expect(Array.isArray(res.body?.data)).toBe(true);
  });

  it("a team member's calls carry their teams, and totals group by team", async () => {
    const team = await must(
      world.stack,
      world.adminKey,
      "POST",
      "/api/v1/teams",
      { name: `usage-${Date.now()}` },
      201,
    );
    const member = await newMember(world.stack, world.adminKey, "usage-team");
    await must(
      world.stack,
      world.adminKey,
      "POST",
      `/api/v1/teams/${team.id}/members`,
      { user_id: member.user.id },
      201,
    );
    await grant(world.stack, world.adminKey, "openai-main", { kind: "user", id: member.user.id });
    await world.openai(member.key).chat.completions.create({
      model: "openai-main/gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    await waitFor(async () => (await records(member.key)).length === 1, 15_000);
    expect((await records(member.key))[0]).toMatchObject({
      principal_id: member.user.id,
      team_ids: [team.id],
    });
    const byTeam = await must(world.stack, world.adminKey, "GET", "/api/v1/usage?group_by=team");
    expect(byTeam.data).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ team_id: team.id, requests: 1 }),
        expect.objectContaining({ team_id: null, requests: 4 }),
      ]),
    );
    const oneTeam = await must(world.stack, world.adminKey, "GET", `/api/v1/usage?team_id=${team.id}`);
    expect(oneTeam.data).toEqual([expect.objectContaining({ requests: 1 })]);
  });
});
