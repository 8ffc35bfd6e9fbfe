import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { must } from "./access-api.js";
import { type RoutesWorld, startRoutesWorld } from "./routes-world.js";

/**
 * A routed call on the merged hot path: its rate limits (unscoped ones only, docs/governance.md), the
 * headers of a stream's head, its usage record and cost at the answering target's prices, and its
 * access line — with no key or prompt text in the line.
 */
let world: RoutesWorld;
const PROMPT = "Where does the lantern-heron-77 nest";
const PRICE = { a: { input: 1, output: 2 }, b: { input: 3, output: 5 } };

// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field.
type Json = any;

beforeAll(async () => {
  // Dispatch serves its own /metrics (any free port).
  world = await startRoutesWorld({ METRICS_PORT: "0" });
  for (const id of ["a", "b"] as const) {
    await must(world.stack, world.adminKey, "PATCH", `/api/v1/provider-accounts/up-${id}`, {
      models: [
        {
          name: "gpt",
          kind: "chat",
          input_price_per_mtok: PRICE[id].input,
          output_price_per_mtok: PRICE[id].output,
        },
      ],
    });
  }
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

function accessLine(requestId: string): Json | undefined {
  return world.stack.logs.lines
    .map((l) => JSON.parse(l) as Json)
    .find((l) => l.msg === "request" && String(l.service).startsWith("ingress") && l.reqId === requestId);
}

describe("a routed call on the hot path", () => {
  it("streams with route, target and rate-limit headers; recorded and logged as the target that answered", async () => {
    const route = `hot-${Date.now()}`;
    await world.route({ name: route, kind: "chat", targets: [{ model: "up-a/gpt" }, { model: "up-b/gpt" }] });
    await world.grantRoute(route);
    const limit = (body: Record<string, unknown>) =>
      must(world.stack, world.adminKey, "POST", "/api/v1/rate-limits", body, 201);
    const subject = { kind: "virtual_account", id: world.vaId };
    await limit({ subject, requests_per_minute: 1000 });
    // Scoped to the target that answers: a routed call does not see it (the target is dispatch's choice).
    await limit({ subject, scope: { provider_account: "up-b" }, requests_per_minute: 1 });

    const call = async () => {
      world.up.a.setNext({ kind: "httpError", status: 500 });
      world.up.b.setNext({ kind: "answer", text: "from b", chunks: 3 });
      const response = await fetch(`${world.stack.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: route,
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: "user", content: PROMPT }],
        }),
      });
      const text = await response.text();
      return { response, text };
    };
    const first = await call();
    const second = await call();
    for (const { response, text } of [first, second]) {
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/event-stream");
      expect(response.headers.get("x-gatehouse-route")).toBe(route);
      expect(response.headers.get("x-gatehouse-target")).toBe("up-b/gpt");
      expect(response.headers.get("x-ratelimit-limit-requests")).toBe("1000");
      expect(text).toContain("[DONE]");
    }

    const requestId = first.response.headers.get("x-request-id") ?? "";
    await waitFor(async () => {
      const rows = await world.sql`select 1 from dispatch.usage_records where request_id = ${requestId}`;
      return rows.length === 1;
    }, 15_000);
    const [record] = await world.sql`select account, model, route, prompt_tokens, completion_tokens, cost_usd
      from dispatch.usage_records where request_id = ${requestId}`;
    expect(record).toMatchObject({ account: "up-b", model: "gpt", route });
    const cost =
      (Number(record?.prompt_tokens) * PRICE.b.input + Number(record?.completion_tokens) * PRICE.b.output) /
      1e6;
    expect(Number(record?.cost_usd)).toBeCloseTo(cost, 9);

    await waitFor(() => accessLine(requestId) !== undefined, 10_000);
    const line = accessLine(requestId);
    expect(line).toMatchObject({
      status: 200,
      principalId: world.vaId,
      route,
      account: "up-b",
      model: "gpt",
      inputTokens: Number(record?.prompt_tokens),
      outputTokens: Number(record?.completion_tokens),
    });
    expect(line.costUsd).toBeCloseTo(cost, 9);
    const text = JSON.stringify(line);
    for (const secret of [world.vat, world.adminKey, world.up.b.apiKey, "lantern-heron", "from b"]) {
      expect(text).not.toContain(secret);
    }
  }, 60_000);
});

describe("a routed call its caller leaves before any target answered", () => {
  it("is recorded with estimated tokens priced at the target it was waiting on", async () => {
    const route = `left-${Date.now()}`;
    await world.route({ name: route, kind: "chat", targets: [{ model: "up-a/gpt" }] });
    await world.grantRoute(route);
    world.up.a.reset();
    world.up.a.setNext({ kind: "hangBeforeHeaders" });
    const leave = new AbortController();
    const requestId = `left-${Date.now()}`;
    const pending = fetch(`${world.stack.url}/v1/chat/completions`, {
      method: "POST",
      signal: leave.signal,
      headers: {
        authorization: `Bearer ${world.vat}`,
        "content-type": "application/json",
        "x-request-id": requestId,
      },
      body: JSON.stringify({ model: route, messages: [{ role: "user", content: PROMPT }] }),
    }).catch(() => undefined);
    await waitFor(() => world.up.a.requests.length > 0, 15_000);
    leave.abort();
    await pending;
    let rows: Json[] = [];
    await waitFor(async () => {
      rows = await world.sql`select account, estimated, prompt_tokens, cost_usd
        from dispatch.usage_records where request_id = ${requestId}`;
      return rows.length === 1;
    }, 15_000);
    const [record] = rows;
    expect(record).toMatchObject({ account: "up-a", estimated: true });
    expect(Number(record.prompt_tokens)).toBeGreaterThan(0);
    expect(Number(record.cost_usd)).toBeCloseTo((Number(record.prompt_tokens) * PRICE.a.input) / 1e6, 9);
  }, 60_000);
});

describe("a routed call none of whose targets answered", () => {
  it("counts its upstream error under the target tried last, not under 'other'", async () => {
    const route = `down-${Date.now()}`;
    await world.route({ name: route, kind: "chat", targets: [{ model: "up-a/gpt" }, { model: "up-c/gpt" }] });
    await world.grantRoute(route);
    world.up.a.setNext({ kind: "httpError", status: 500 });
    world.up.c.setNext({ kind: "httpError", status: 500 });
    const response = await fetch(`${world.stack.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json" },
      body: JSON.stringify({ model: route, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(response.status).toBe(502);
    const errors = async () => {
      const text = await (await fetch(world.stack.services.dispatch.metricsUrl as string)).text();
      const line = text
        .split("\n")
        .find((l) => l.startsWith('gatehouse_upstream_errors_total{account="up-c"'));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    await waitFor(async () => (await errors()) >= 1, 15_000);
  }, 60_000);
});

describe("a routed call's failed targets before the one that answered", () => {
  it("are each counted as upstream errors under their own account, by error code", async () => {
    const route = `counted-${Date.now()}`;
    await world.route({
      name: route,
      kind: "chat",
      targets: [{ model: "up-a/gpt" }, { model: "up-c/gpt" }, { model: "up-b/gpt" }],
    });
    await world.grantRoute(route);
    const metrics = async () => (await fetch(world.stack.services.dispatch.metricsUrl as string)).text();
    const counter = (text: string, account: string, code: string) => {
      const prefix = `gatehouse_upstream_errors_total{account="${account}",error_type="${code}"} `;
      const line = text.split("\n").find((l) => l.startsWith(prefix));
      return line === undefined ? 0 : Number(line.slice(prefix.length));
    };
    const before = await metrics();
    world.up.a.setNext({ kind: "httpError", status: 500 });
    world.up.c.setNext({ kind: "httpError", status: 429 });
    world.up.b.setNext({ kind: "answer", text: "from b" });
    const response = await fetch(`${world.stack.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json" },
      body: JSON.stringify({ model: route, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-gatehouse-target")).toBe("up-b/gpt");
    await response.text();
    // Counted while the call runs (before its answer): no wait needed, but the scrape is read fresh.
    const after = await metrics();
    expect(counter(after, "up-a", "provider_error") - counter(before, "up-a", "provider_error")).toBe(1);
    expect(
      counter(after, "up-c", "provider_rate_limited") - counter(before, "up-c", "provider_rate_limited"),
    ).toBe(1);
    // The target that answered failed nothing.
    for (const code of ["provider_error", "provider_rate_limited"]) {
      expect(counter(after, "up-b", code)).toBe(counter(before, "up-b", code));
    }
  }, 60_000);
});
