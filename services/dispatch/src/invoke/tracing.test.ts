import type { InvokeMeta } from "@gatehouse/contracts";
import type { InvokeResult } from "@gatehouse/providers";
import { INVALID_SPAN_CONTEXT, type Span } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { invokeAttributes, recordAnswer, recordProvider, startInvokeSpan } from "./tracing.js";

/** A recording span that keeps what is set on it. */
function recordingSpan(): { span: Span; attributes: Record<string, unknown> } {
  const attributes: Record<string, unknown> = {};
  const span = {
    isRecording: () => true,
    setAttribute(key: string, value: unknown) {
      attributes[key] = value;
      return span;
    },
  } as unknown as Span;
  return { span, attributes };
}

const json = (body: unknown): InvokeResult => ({ kind: "json", status: 200, body, usage: null });

describe("recordAnswer", () => {
  it("names the answering model and each distinct finish reason once, in order", () => {
    const { span, attributes } = recordingSpan();
    recordAnswer(
      span,
      json({
        model: "gpt-x",
        choices: [{ finish_reason: "stop" }, { finish_reason: "length" }, { finish_reason: "stop" }, {}],
      }),
    );
    expect(attributes).toEqual({
      "gen_ai.response.model": "gpt-x",
      "gen_ai.response.finish_reasons": ["stop", "length"],
    });
  });

  it("reads Anthropic's stop_reason and a Responses status; cuts long values; keeps at most eight", () => {
    const anthropic = recordingSpan();
    recordAnswer(anthropic.span, json({ stop_reason: "end_turn" }));
    expect(anthropic.attributes["gen_ai.response.finish_reasons"]).toEqual(["end_turn"]);
    const responses = recordingSpan();
    recordAnswer(responses.span, json({ status: "x".repeat(100) }));
    expect(responses.attributes["gen_ai.response.finish_reasons"]).toEqual(["x".repeat(64)]);
    const many = recordingSpan();
    recordAnswer(
      many.span,
      json({ choices: Array.from({ length: 20 }, (_, i) => ({ finish_reason: `r${i}` })) }),
    );
    expect(many.attributes["gen_ai.response.finish_reasons"]).toHaveLength(8);
  });

  it("sets nothing for an answer without reasons", () => {
    const { span, attributes } = recordingSpan();
    recordAnswer(span, json({ choices: [] }));
    expect(attributes).toEqual({});
  });
});

describe("startInvokeSpan with tracing off (no SDK in this file)", () => {
  it("reads nothing of the envelope's trace: the no-op span carries no parent, as without a carrier", () => {
    const meta = {
      operation: "chat",
      stream: false,
      trace: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "a=1" },
    } as InvokeMeta;
    const span = startInvokeSpan(meta);
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext()).toEqual(INVALID_SPAN_CONTEXT);
  });
});

describe("invokeAttributes", () => {
  const meta = (fields: Partial<InvokeMeta>) =>
    ({ operation: "chat", stream: false, ...fields }) as InvokeMeta;

  it("gives one frozen object per combination, its attributes in the documented order", () => {
    const a = invokeAttributes(meta({ model: "gpt-x", account: "openai-main" }));
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.entries(a)).toEqual([
      ["gen_ai.operation.name", "chat"],
      ["gatehouse.stream", false],
      ["gen_ai.request.model", "gpt-x"],
      ["gatehouse.account", "openai-main"],
    ]);
    expect(invokeAttributes(meta({ model: "gpt-x", account: "openai-main" }))).toBe(a);
    expect(invokeAttributes(meta({ model: "gpt-x", account: "openai-main", stream: true }))).not.toBe(a);
    expect(Object.entries(invokeAttributes(meta({ route: "smart", operation: "embeddings" })))).toEqual([
      ["gen_ai.operation.name", "embeddings"],
      ["gatehouse.stream", false],
      ["gatehouse.route", "smart"],
    ]);
  });

  it("never mistakes one combination for another, whatever the names contain", () => {
    const one = invokeAttributes(meta({ model: "m 1:A", account: "B" }));
    const two = invokeAttributes(meta({ model: "m", account: "A 1:B" }));
    expect(one["gen_ai.request.model"]).toBe("m 1:A");
    expect(two["gen_ai.request.model"]).toBe("m");
    expect(invokeAttributes(meta({ model: "" }))).not.toBe(invokeAttributes(meta({ account: "" })));
  });

  it("keeps a bounded number of combinations, and answers right past the bound", () => {
    for (let i = 0; i < 3000; i++) invokeAttributes(meta({ model: "m", account: `a${i}` }));
    expect(invokeAttributes(meta({ model: "m", account: "a0" }))["gatehouse.account"]).toBe("a0");
    expect(invokeAttributes(meta({ model: "m", account: "a2999" }))["gatehouse.account"]).toBe("a2999");
  });
});

describe("recordProvider", () => {
  const meta = { operation: "chat", stream: true, model: "gpt-x", account: "openai-main" } as InvokeMeta;

  it("gives the span its first attributes and the provider's name as one frozen object per combination", () => {
    const given: unknown[] = [];
    const span = {
      isRecording: () => true,
      setAttributes(attributes: unknown) {
        given.push(attributes);
        return span;
      },
    } as unknown as Span;
    recordProvider(span, "openai", meta);
    recordProvider(span, "openai", meta);
    recordProvider(span, "anthropic", meta);
    const [first, again, other] = given as Record<string, unknown>[];
    // What a tracer that keeps frozen objects puts in place of the first ones (no copy per call).
    expect(Object.isFrozen(first)).toBe(true);
    expect(again).toBe(first);
    expect(Object.entries(first ?? {})).toEqual([
      ...Object.entries(invokeAttributes(meta)),
      ["gen_ai.provider.name", "openai"],
    ]);
    expect(other?.["gen_ai.provider.name"]).toBe("anthropic");
  });
});
