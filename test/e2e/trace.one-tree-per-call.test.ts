import { type ExportedSpan, startInMemoryTracing, waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

const tracing = await startInMemoryTracing();

let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({ types: ["openai", "anthropic"] });
}, 60_000);
afterAll(async () => {
  await world?.stop();
  await tracing.shutdown();
});

const PROMPT = "Tell me about the lighthouse keeper zebra-quartz-71";

/** Every span of the trace a request's server span starts, once `dispatch.invoke` has ended. */
async function traceOf(requestId: string): Promise<{ server: ExportedSpan; spans: ExportedSpan[] }> {
  let server: ExportedSpan | undefined;
  await waitFor(() => {
    const finished = tracing.spans();
    server = finished.find(
      (s) => s.kind === 1 && s.attributes["gatehouse.request_id"] === requestId && s.name.startsWith("POST "),
    );
    if (!server) return false;
    const traceId = server.spanContext().traceId;
    return finished.some((s) => s.spanContext().traceId === traceId && s.name === "dispatch.invoke");
  }, 15_000);
  const found = server as ExportedSpan;
  const traceId = found.spanContext().traceId;
  return { server: found, spans: tracing.spans().filter((s) => s.spanContext().traceId === traceId) };
}

const parentOf = (span: ExportedSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ExportedSpan) => span.spanContext().spanId;

function only(spans: ExportedSpan[], name: string): ExportedSpan {
  const matching = spans.filter((s) => s.name === name);
  expect(matching.map((s) => s.name)).toEqual([name]);
  return matching[0] as ExportedSpan;
}

/** Nothing secret or private in any attribute, event or status of the trace. */
function expectNoSecrets(spans: ExportedSpan[], secrets: string[]): void {
  const text = JSON.stringify(
    spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
  );
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe("tracing one call through ingress, auth, acl, dispatch and the upstream", () => {
  it("makes one tree of a streamed chat call, with GenAI attributes and no key, prompt or answer", async () => {
    const p = world.byType("openai");
    const { data: stream, response } = await world
      .openai()
      .chat.completions.create({
        model: `${p.account}/${p.chatModel}`,
        messages: [{ role: "user", content: PROMPT }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    let answer = "";
    for await (const chunk of stream) answer += chunk.choices[0]?.delta.content ?? "";
    expect(answer.length).toBeGreaterThan(3);
    const requestId = response.headers.get("x-request-id") ?? "";

    const { server, spans } = await traceOf(requestId);
    // The first call with this key: auth and acl were asked (cache misses), each in this trace.
    expect(server.name).toBe("POST /v1/chat/completions");
    expect(parentOf(server)).toBeUndefined();
    expect(server.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/v1/chat/completions",
      "http.response.status_code": 200,
      "gatehouse.principal.id": world.vaId,
      "gatehouse.principal.kind": "virtual_account",
      "gatehouse.account": p.account,
      "gen_ai.request.model": p.chatModel,
    });
    const validate = only(spans, "auth.validate");
    expect(parentOf(validate)).toBe(idOf(server));
    const aclSpans = spans.filter((s) => s.name.startsWith("acl."));
    expect(aclSpans.length).toBeGreaterThan(0);
    for (const s of aclSpans) expect(parentOf(s)).toBe(idOf(server));

    const invoke = only(spans, "dispatch.invoke");
    expect(parentOf(invoke)).toBe(idOf(server));
    expect(invoke.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": p.chatModel,
      "gen_ai.response.model": expect.any(String),
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.usage.input_tokens": expect.any(Number),
      "gen_ai.usage.output_tokens": expect.any(Number),
      "gatehouse.account": p.account,
      "gatehouse.stream": true,
      "http.response.status_code": 200,
    });
    // Said once in the trace, on the server span: not repeated on its child.
    for (const key of ["gatehouse.request_id", "gatehouse.principal.id", "gatehouse.principal.kind"])
      expect(invoke.attributes[key]).toBeUndefined();
    expect(invoke.attributes["gen_ai.usage.output_tokens"]).toBeGreaterThan(0);

    const upstream = only(spans, "POST");
    expect(upstream.kind).toBe(2); // CLIENT
    expect(parentOf(upstream)).toBe(idOf(invoke));
    const upstreamUrl = new URL(p.upstream?.url ?? "");
    expect(upstream.attributes).toMatchObject({
      "http.request.method": "POST",
      "server.address": upstreamUrl.hostname,
      "server.port": Number(upstreamUrl.port),
      "url.path": expect.stringContaining("/chat/completions"),
      "http.response.status_code": 200,
      "gatehouse.upstream.time_to_first_byte_ms": expect.any(Number),
    });
    expect(upstream.attributes["gatehouse.upstream.duration_ms"]).toBeUndefined(); // the span's duration
    // Nothing in the trace but this request's spans, each exactly once.
    const names = spans.map((s) => s.name).sort();
    expect(new Set(names).size).toBe(names.length);

    expectNoSecrets(spans, [world.vat, p.upstream?.apiKey ?? "", "zebra-quartz", answer.slice(0, 24)]);
  });

  it("continues the caller's traceparent, and a long baggage header does not break the call", async () => {
    const p = world.byType("openai");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    const { response } = await world
      .openai()
      .chat.completions.create(
        { model: `${p.account}/${p.chatModel}`, messages: [{ role: "user", content: PROMPT }] },
        {
          headers: {
            traceparent: `00-${traceId}-${parentId}-01`,
            tracestate: "vendor=abc",
            // The caller's baggage is not carried on (and a long one does not break the call).
            baggage: `tenant=${"x".repeat(4000)}`,
          },
        },
      )
      .withResponse();
    const { server, spans } = await traceOf(response.headers.get("x-request-id") ?? "");
    expect(server.spanContext().traceId).toBe(traceId);
    expect(parentOf(server)).toBe(parentId);
    const invoke = only(spans, "dispatch.invoke");
    expect(parentOf(invoke)).toBe(idOf(server));
    // A non-streaming answer: the model and finish reason come from the JSON body.
    expect(invoke.attributes).toMatchObject({
      "gatehouse.stream": false,
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.usage.input_tokens": expect.any(Number),
    });
    expect(parentOf(only(spans, "POST"))).toBe(idOf(invoke));
  });

  it("traces the Anthropic dialect with the provider's own names and stop reason", async () => {
    const p = world.byType("anthropic");
    const { response } = await world
      .anthropic()
      .messages.create({
        model: `${p.account}/${p.chatModel}`,
        max_tokens: 64,
        messages: [{ role: "user", content: PROMPT }],
      })
      .withResponse();
    const { server, spans } = await traceOf(response.headers.get("x-request-id") ?? "");
    expect(server.name).toBe("POST /v1/messages");
    const invoke = only(spans, "dispatch.invoke");
    expect(invoke.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "anthropic",
      "gen_ai.request.model": p.chatModel,
      "gen_ai.response.finish_reasons": ["end_turn"],
    });
    expect(only(spans, "POST").attributes["url.path"]).toContain("/messages");
    expectNoSecrets(spans, [world.vat, p.upstream?.apiKey ?? "", "zebra-quartz"]);
  });

  it("records a refused key on the server span without an error status or the key", async () => {
    const bad = "gh_vat_this-key-does-not-exist-0000000000000000";
    const res = await fetch(`${world.stack.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${bad}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "x/y", messages: [{ role: "user", content: PROMPT }] }),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const requestId = res.headers.get("x-request-id") ?? "";
    await waitFor(() => tracing.spans().some((s) => s.attributes["gatehouse.request_id"] === requestId));
    const server = tracing.spans().find((s) => s.attributes["gatehouse.request_id"] === requestId);
    expect(server?.attributes["http.response.status_code"]).toBe(res.status);
    expect(server?.status.code).not.toBe(2); // not ERROR: the caller's mistake
    expectNoSecrets(tracing.spans(), [bad]);
  });
});
