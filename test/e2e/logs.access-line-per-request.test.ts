import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({ types: ["openai"] });
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

const PROMPT = "What does the harbour pilot quince-marble-42 do";

type Line = Record<string, unknown>;

function accessLines(): Line[] {
  return world.stack.logs.lines
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.msg === "request" && String(l.service).startsWith("ingress"));
}

async function lineFor(requestId: string): Promise<Line> {
  await waitFor(() => accessLines().some((l) => l.reqId === requestId), 10_000);
  const lines = accessLines().filter((l) => l.reqId === requestId);
  // One line per request, never two.
  expect(lines).toHaveLength(1);
  return lines[0] as Line;
}

function expectNothingSecret(line: Line, extra: string[] = []): void {
  const text = JSON.stringify(line);
  const upstreamKey = world.byType("openai").upstream?.apiKey ?? "";
  for (const secret of [world.vat, world.adminKey, upstreamKey, "quince-marble", ...extra]) {
    expect(text).not.toContain(secret);
  }
}

describe("one access line per request at info", () => {
  it("logs a streamed chat call with its identifiers, status, latency and tokens", async () => {
    const p = world.byType("openai");
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    const { data: stream, response } = await world
      .openai()
      .chat.completions.create(
        {
          model: `${p.account}/${p.chatModel}`,
          messages: [{ role: "user", content: PROMPT }],
          stream: true,
          stream_options: { include_usage: true },
        },
        { headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } },
      )
      .withResponse();
    let answer = "";
    let usage: { prompt_tokens: number; completion_tokens: number } | undefined;
    for await (const chunk of stream) {
      answer += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    const line = await lineFor(response.headers.get("x-request-id") ?? "");
    expect(line).toMatchObject({
      level: 30,
      method: "POST",
      path: "/v1/chat/completions",
      status: 200,
      // Tracing is off in this file: the caller's own trace id still correlates the line.
      traceId,
      principalId: world.vaId,
      account: p.account,
      model: p.chatModel,
      route: null,
      inputTokens: usage?.prompt_tokens,
      outputTokens: usage?.completion_tokens,
    });
    expect(line.durationMs).toEqual(expect.any(Number));
    expect(line).toHaveProperty("costUsd");
    expectNothingSecret(line, [answer.slice(0, 24)]);
  });

  it("logs a non-streaming call with the tokens dispatch reported", async () => {
    const p = world.byType("openai");
    const { data, response } = await world
      .openai()
      .chat.completions.create({
        model: `${p.account}/${p.chatModel}`,
        messages: [{ role: "user", content: PROMPT }],
      })
      .withResponse();
    const line = await lineFor(response.headers.get("x-request-id") ?? "");
    expect(line).toMatchObject({
      status: 200,
      inputTokens: data.usage?.prompt_tokens,
      outputTokens: data.usage?.completion_tokens,
      traceId: null,
    });
    expectNothingSecret(line, [String(data.choices[0]?.message.content).slice(0, 24)]);
  });

  it("logs a refused key with its status and no key, principal or tokens", async () => {
    const bad = "gh_vat_not-a-real-key-000000000000000000000000";
    const res = await fetch(`${world.stack.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${bad}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "openai-main/gpt-4o-mini",
        messages: [{ role: "user", content: PROMPT }],
      }),
    });
    expect(res.status).toBe(401);
    const line = await lineFor(res.headers.get("x-request-id") ?? "");
    expect(line).toMatchObject({ status: 401, principalId: null, account: null, inputTokens: null });
    expectNothingSecret(line, [bad]);
  });

  it("logs an admin call too, and a health probe only at debug", async () => {
    const res = await fetch(`${world.stack.url}/api/v1/provider-accounts`, {
      headers: { authorization: `Bearer ${world.adminKey}` },
    });
    expect(res.status).toBe(200);
    const line = await lineFor(res.headers.get("x-request-id") ?? "");
    expect(line).toMatchObject({ level: 30, method: "GET", path: "/api/v1/provider-accounts", status: 200 });
    expectNothingSecret(line);

    const probe = await fetch(`${world.stack.url}/healthz`);
    expect((await lineFor(probe.headers.get("x-request-id") ?? "")).level).toBe(20);
  });

  it("logs a stream its client left as 499, once", async () => {
    const p = world.byType("openai");
    p.upstream?.setNext({ kind: "answer", chunks: 200, chunkDelayMs: 50 });
    const controller = new AbortController();
    const { data: stream, response } = await world
      .openai()
      .chat.completions.create(
        { model: `${p.account}/${p.chatModel}`, messages: [{ role: "user", content: PROMPT }], stream: true },
        { signal: controller.signal },
      )
      .withResponse();
    let received = 0;
    await (async () => {
      for await (const _ of stream) if (++received === 3) controller.abort();
    })().catch(() => {});
    const line = await lineFor(response.headers.get("x-request-id") ?? "");
    expect(line).toMatchObject({ status: 499, account: p.account });
  });
});
