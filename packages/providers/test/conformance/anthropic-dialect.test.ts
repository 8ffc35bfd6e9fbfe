import { describe, expect, it } from "vitest";
import type { InvokeInput } from "../../src/index.js";
import { CASES, collectFrames, type ProviderCase, rejection, signal, useProvider } from "./cases.js";

const TOOL = {
  name: "get_weather",
  description: "Weather",
  input_schema: { type: "object", properties: { city: { type: "string" } } },
};

function messagesInput(c: ProviderCase, body: Record<string, unknown>, stream = false): InvokeInput {
  return {
    operation: "chat",
    dialect: "anthropic",
    model: c.model,
    body: { max_tokens: 256, ...body, stream },
    stream,
  };
}

function events(frames: string[]) {
  return frames.map((frame) => {
    const match = /^event: ([a-z_]+)\ndata: (.*)\n\n$/s.exec(frame);
    if (match === null) throw new Error(`not an Anthropic SSE frame: ${frame}`);
    const data = JSON.parse(match[2] ?? "") as { type: string } & Record<string, unknown>;
    expect(data.type).toBe(match[1]);
    return data;
  });
}

describe.each(CASES)("$type: Anthropic Messages dialect (/v1/messages)", (c) => {
  const ctx = useProvider(c);

  it("answers with an Anthropic message", async () => {
    const result = await ctx
      .client()
      .invoke(
        messagesInput(c, { system: "Be brief.", messages: [{ role: "user", content: "Say hello" }] }),
        signal(),
      );
    if (result.kind !== "json") throw new Error("expected json");
    const body = result.body as {
      type: string;
      role: string;
      content: Array<{ type: string; text: string }>;
      stop_reason: string;
      usage: { input_tokens: number; output_tokens: number };
    };
    expect(body.type).toBe("message");
    expect(body.role).toBe("assistant");
    expect(body.content[0]?.type).toBe("text");
    expect(body.stop_reason).toBe("end_turn");
    expect(body.usage.output_tokens).toBeGreaterThan(0);
    expect(result.usage?.totalTokens).toBeGreaterThan(0);
  });

  it("streams the documented event sequence", async () => {
    const result = await ctx
      .client()
      .invoke(messagesInput(c, { messages: [{ role: "user", content: "Say hello" }] }, true), signal());
    const list = events(await collectFrames(result));
    const types = list.map((e) => e.type).filter((t) => t !== "ping");
    expect(types[0]).toBe("message_start");
    expect(types.at(-1)).toBe("message_stop");
    expect(types.at(-2)).toBe("message_delta");
    expect(types).toContain("content_block_start");
    expect(types).toContain("content_block_delta");
    expect(types).toContain("content_block_stop");
    if (result.kind === "stream") expect(result.usage()?.completionTokens).toBeGreaterThan(0);
  });

  it("streams a tool call as tool_use with input_json_delta", async () => {
    ctx.upstream?.setNext({ kind: "toolCall", name: "get_weather", arguments: { city: "Oslo" } });
    const result = await ctx
      .client()
      .invoke(
        messagesInput(
          c,
          { tools: [TOOL], messages: [{ role: "user", content: "call get_weather for Oslo" }] },
          true,
        ),
        signal(),
      );
    type Loose = {
      type: string;
      index?: number;
      content_block?: { type: string; name?: string };
      delta?: { partial_json?: string; stop_reason?: string };
    };
    const list = events(await collectFrames(result)) as Loose[];
    const start = list.find((e) => e.type === "content_block_start" && e.content_block?.type === "tool_use");
    expect(start?.content_block?.name).toBe("get_weather");
    const json = list
      .filter((e) => e.type === "content_block_delta" && e.index === start?.index)
      .map((e) => e.delta?.partial_json ?? "")
      .join("");
    expect(JSON.parse(json)).toBeTypeOf("object");
    expect(list.find((e) => e.type === "message_delta")?.delta?.stop_reason).toBe("tool_use");
  });

  it("refuses a body without max_tokens with invalid_request", async () => {
    const error = await rejection(
      ctx.client().invoke(
        {
          operation: "chat",
          dialect: "anthropic",
          model: c.model,
          body: { messages: [{ role: "user", content: "x" }] },
          stream: false,
        },
        signal(),
      ),
    );
    expect(error.code).toBe("invalid_request");
  });

  it("refuses embeddings in the Anthropic dialect", async () => {
    const error = await rejection(
      ctx.client().invoke(
        {
          operation: "embeddings",
          dialect: "anthropic",
          model: c.model,
          body: { input: "x" },
          stream: false,
        },
        signal(),
      ),
    );
    expect([error.code, error.message]).toEqual([
      "invalid_request",
      "operation not supported by this provider account",
    ]);
  });

  it.runIf(c.type === "anthropic")("passes through natively, whitelisted", async () => {
    await ctx
      .client()
      .invoke(
        messagesInput(c, { messages: [{ role: "user", content: "hi" }], top_k: 5, base_url: "http://evil" }),
        signal(),
      );
    const sent = ctx.up.requests.at(-1)?.body as Record<string, unknown>;
    expect(sent.top_k).toBe(5);
    expect(sent).not.toHaveProperty("base_url");
    expect(sent.model).toBe(c.model);
  });
});
