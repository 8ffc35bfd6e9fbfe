import { type ExportedSpan, startInMemoryTracing, waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RoutesWorld, startRoutesWorld } from "./routes-world.js";

/** A routed call's trace: the spans name the route and the target that answered, or was tried last. */
const tracing = await startInMemoryTracing();
let world: RoutesWorld;

beforeAll(async () => {
  world = await startRoutesWorld();
}, 60_000);
afterAll(async () => {
  await world?.stop();
  await tracing.shutdown();
});

const PROMPT = "What does the copper-finch-19 sing";

/** The request's `dispatch.invoke`: the child of the server span that names the request id. */
function invokeSpanOf(requestId: string): ExportedSpan | undefined {
  const spans = tracing.spans();
  const server = spans.find((s) => s.kind === 1 && s.attributes["gatehouse.request_id"] === requestId);
  if (server === undefined) return undefined;
  const id = server.spanContext().spanId;
  return spans.find((s) => s.name === "dispatch.invoke" && s.parentSpanContext?.spanId === id);
}

/** A fresh route over `up-a/gpt` (which fails) and `second`, granted to the world's app. */
async function failingOver(second: "b" | "c"): Promise<string> {
  const route = `tr-${second}-${Date.now()}`;
  await world.route({
    name: route,
    kind: "chat",
    targets: [{ model: "up-a/gpt" }, { model: `up-${second}/gpt` }],
  });
  await world.grantRoute(route);
  world.up.a.setNext({ kind: "httpError", status: 500 });
  return route;
}

/** The span's target: the route, and the account and model named for it. */
const targetOf = (span: ExportedSpan) => ({
  route: span.attributes["gatehouse.route"],
  account: span.attributes["gatehouse.account"],
  model: span.attributes["gen_ai.request.model"],
});

async function routedCall(route: string) {
  const response = await fetch(`${world.stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json" },
    body: JSON.stringify({ model: route, messages: [{ role: "user", content: PROMPT }] }),
  });
  await response.text();
  const requestId = response.headers.get("x-request-id") ?? "";
  await waitFor(() => invokeSpanOf(requestId) !== undefined, 15_000);
  return { response, span: invokeSpanOf(requestId) as ExportedSpan };
}

describe("a routed call's dispatch span", () => {
  it("names the route and the target that answered; with no key or prompt", async () => {
    const route = await failingOver("b");
    world.up.b.setNext({ kind: "answer", text: "tweet" });
    const { response, span } = await routedCall(route);
    expect(response.status).toBe(200);
    expect(targetOf(span)).toEqual({ route, account: "up-b", model: "gpt" });
    const text = JSON.stringify(tracing.spans().map((s) => s.attributes));
    for (const secret of [world.vat, world.up.a.apiKey, world.up.b.apiKey, "copper-finch"]) {
      expect(text).not.toContain(secret);
    }
  });

  it("names the target tried last when none answered", async () => {
    const route = await failingOver("c");
    world.up.c.setNext({ kind: "httpError", status: 500 });
    const { response, span } = await routedCall(route);
    expect(response.status).toBeGreaterThanOrEqual(500);
    expect(targetOf(span)).toEqual({ route, account: "up-c", model: "gpt" });
  });
});
