import { describe, expect, it } from "vitest";
import type { InvokeInput } from "../../src/index.js";
import { CASES, collectFrames, type ProviderCase, rejection, signal, useProvider } from "./cases.js";

/** OpenAI and Azure OpenAI keep responses themselves; every other type is answered through chat. */
const NATIVE = new Set(["openai", "azure-openai"]);

function responsesInput(c: ProviderCase, body: Record<string, unknown>, stream = false): InvokeInput {
  return { operation: "responses", dialect: "openai", model: c.model, body: { ...body, stream }, stream };
}

type Event = { type: string; sequence_number: number; [key: string]: unknown };

/** The events of a Responses stream, checking each frame is `event: <type>` + matching data. */
function events(frames: string[]): Event[] {
  return frames.flatMap((frame) =>
    frame
      .split("\n\n")
      .filter(Boolean)
      .map((block) => {
        const [eventLine, dataLine] = block.split("\n");
        const data = JSON.parse(dataLine?.slice("data: ".length) ?? "") as Event;
        expect(eventLine).toBe(`event: ${data.type}`);
        return data;
      }),
  );
}

const WEATHER = {
  type: "function",
  name: "get_weather",
  description: "Current weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

describe.each(CASES)("$type: Responses API", (c) => {
  const ctx = useProvider(c);
  const native = NATIVE.has(c.type);

  it("answers a Response object with output text and usage", async () => {
    const result = await ctx
      .client()
      .invoke(responsesInput(c, { input: "Say hello", instructions: "Be brief." }), signal());
    if (result.kind !== "json") throw new Error("expected json");
    const body = result.body as {
      id: string;
      object: string;
      status: string;
      output: Array<{ type: string; role: string; content: Array<{ type: string; text: string }> }>;
      usage: { input_tokens: number; output_tokens: number; total_tokens: number };
    };
    expect(body.object).toBe("response");
    expect(body.status).toBe("completed");
    expect(body.id).toMatch(/^resp_/);
    const message = body.output.find((item) => item.type === "message");
    expect(message?.role).toBe("assistant");
    const text = message?.content[0]?.text;
    if (c.caps.http) expect(text).toBe("Hello from the mock upstream.");
    else expect(text).toBe("mock: Say hello");
    expect(body.usage.input_tokens).toBeGreaterThan(0);
    expect(body.usage.output_tokens).toBeGreaterThan(0);
    expect(result.usage?.promptTokens).toBe(body.usage.input_tokens);
    expect(result.responses?.native).toBe(native);
    expect(result.responses?.id()).toBe(body.id);
  });

  it("streams the Responses event sequence, numbered from 0, ending in response.completed", async () => {
    const result = await ctx.client().invoke(responsesInput(c, { input: "Say hello" }, true), signal());
    if (result.kind !== "stream") throw new Error("expected a stream");
    const list = events(await collectFrames(result));
    expect(list.map((e) => e.sequence_number)).toEqual(list.map((_, i) => i));
    const types = list.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    expect(types.slice(-5)).toEqual([
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const text = list
      .filter((e) => e.type === "response.output_text.delta")
      .map((e) => e.delta)
      .join("");
    expect(list.find((e) => e.type === "response.output_text.done")?.text).toBe(text);
    const completed = list.at(-1)?.response as { id: string; usage: { output_tokens: number } };
    expect(completed.id).toBe((list[0]?.response as { id?: string } | undefined)?.id);
    expect(completed.usage.output_tokens).toBeGreaterThan(0);
    expect(result.usage()?.completionTokens).toBe(completed.usage.output_tokens);
    expect(result.responses?.id()).toBe(completed.id);
  });

  it("returns and streams a function call with its call_id and JSON arguments", async () => {
    const ask = { input: "call get_weather for Paris", tools: [WEATHER] };
    const script = () =>
      ctx.upstream?.setNext({ kind: "toolCall", name: "get_weather", arguments: { city: "Paris" } });
    script();
    const result = await ctx.client().invoke(responsesInput(c, ask), signal());
    if (result.kind !== "json") throw new Error("expected json");
    const output = (result.body as { output: Array<Record<string, string>> }).output;
    const call = output.find((item) => item.type === "function_call");
    expect(call?.name).toBe("get_weather");
    expect(call?.call_id?.length).toBeGreaterThan(0);
    expect(JSON.parse(call?.arguments ?? "")).toEqual(c.caps.http ? { city: "Paris" } : { text: ask.input });

    script();
    const streamed = await ctx.client().invoke(responsesInput(c, ask, true), signal());
    const list = events(await collectFrames(streamed));
    const added = list.find(
      (e) => e.type === "response.output_item.added" && (e.item as { type: string }).type === "function_call",
    );
    expect((added?.item as { name?: string } | undefined)?.name).toBe("get_weather");
    const args = list
      .filter((e) => e.type === "response.function_call_arguments.delta")
      .map((e) => e.delta)
      .join("");
    expect(list.find((e) => e.type === "response.function_call_arguments.done")?.arguments).toBe(args);
    expect(JSON.parse(args)).toBeTypeOf("object");
    expect(list.at(-1)?.type).toBe("response.completed");
  });

  it("carries a tool round trip (function_call + function_call_output items) to the model", async () => {
    const input = [
      { role: "user", content: "call get_weather for Paris" },
      { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
      { type: "function_call_output", call_id: "call_1", output: "sunny" },
    ];
    const result = await ctx.client().invoke(responsesInput(c, { input, tools: [WEATHER] }), signal());
    expect(result.kind).toBe("json");
    if (!c.caps.http) {
      const body =
        result.kind === "json"
          ? (result.body as { output: Array<{ content: Array<{ text: string }> }> })
          : null;
      expect(body?.output[0]?.content[0]?.text).toBe("mock: tool said sunny");
      return;
    }
    const sent = JSON.stringify(ctx.up.requests.at(-1)?.body);
    expect(sent).toContain("sunny");
    // Gemini matches a result to its call by name, not by id.
    expect(sent).toContain(c.type === "gemini" ? "functionResponse" : "call_1");
    if (native) expect(ctx.up.requests.at(-1)?.path).toMatch(/responses/);
  });

  it.runIf(!native)("refuses a built-in tool with a 400 naming the field and the account type", async () => {
    const error = await rejection(
      ctx.client().invoke(responsesInput(c, { input: "hi", tools: [{ type: "web_search" }] }), signal()),
    );
    expect(error.code).toBe("invalid_request");
    expect(error.message).toContain("tools[0]");
    expect(error.message).toContain(c.type);
    expect(ctx.upstream?.requests ?? []).toHaveLength(0);
  });

  it.runIf(native)(
    "passes built-in tools, previous_response_id and the stored-response calls through",
    async () => {
      const client = ctx.client();
      const first = await client.invoke(
        responsesInput(c, { input: "hi", tools: [{ type: "web_search" }] }),
        signal(),
      );
      const id = first.kind === "json" ? (first.body as { id: string }).id : "";
      expect(JSON.stringify(ctx.up.requests.at(-1)?.body)).toContain("web_search");
      await client.invoke(responsesInput(c, { input: "again", previous_response_id: id }), signal());
      expect(ctx.up.requests.at(-1)?.body).toMatchObject({ previous_response_id: id });
      expect((await client.responsesAction("get", id, {}, signal())).body).toMatchObject({
        id,
        object: "response",
      });
      const items = await client.responsesAction("input_items", id, { limit: "10", base_url: "x" }, signal());
      expect(items.body).toMatchObject({ object: "list" });
      expect(ctx.up.requests.at(-1)?.path).toMatch(/input_items\?limit=10$/);
      expect((await client.responsesAction("delete", id, {}, signal())).body).toMatchObject({
        deleted: true,
      });
      const gone = await rejection(client.responsesAction("get", id, {}, signal()));
      expect(gone.code).toBe("not_found");
    },
  );

  it.runIf(!native)("has no stored-response calls of its own upstream", async () => {
    const error = await rejection(ctx.client().responsesAction("get", "resp_x", {}, signal()));
    expect(error.code).toBe("invalid_request");
  });

  it("asks for JSON-schema output where the provider has it, else refuses naming text.format", async () => {
    const format = {
      type: "json_schema",
      name: "city",
      schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    };
    const call = ctx.client().invoke(responsesInput(c, { input: "Paris", text: { format } }), signal());
    if (c.type === "anthropic") {
      const error = await rejection(call);
      expect(error.message).toContain("text.format");
      expect(error.message).toContain("anthropic");
      return;
    }
    const result = await call;
    if (!c.caps.http && result.kind === "json") {
      const text = (result.body as { output: Array<{ content: Array<{ text: string }> }> }).output[0]
        ?.content[0]?.text;
      expect(JSON.parse(text ?? "")).toEqual({ city: "Paris" });
    }
    if (c.caps.http) expect(JSON.stringify(ctx.up.requests.at(-1)?.body)).toContain('"city"');
  });

  it("forwards only documented fields and refuses a conversation object", async () => {
    await ctx.client().invoke(
      responsesInput(c, {
        input: "hi",
        base_url: "http://evil.example",
        api_key: "k",
        max_output_tokens: 64,
      }),
      signal(),
    );
    if (c.caps.http) {
      const sent = JSON.stringify(ctx.up.requests.at(-1)?.body);
      expect(sent).not.toContain("evil");
      expect(sent).toContain("64");
    }
    const error = await rejection(
      ctx.client().invoke(responsesInput(c, { input: "hi", conversation: "conv_1" }), signal()),
    );
    expect(error.message).toContain("conversation");
  });

  it.runIf(c.caps.http)(
    "fails the stream with a GatehouseError when the upstream errors mid-stream",
    async () => {
      ctx.up.setNext({ kind: "errorMidStream", afterFrames: 3 });
      const result = await ctx.client().invoke(responsesInput(c, { input: "hi" }, true), signal());
      const error = await rejection(collectFrames(result));
      expect(error.code).toMatch(/^provider_/);
    },
  );
});
