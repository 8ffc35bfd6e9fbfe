import Anthropic from "@anthropic-ai/sdk";
import { generateKey } from "@gatehouse/keys";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { must } from "./access-api.js";
import { caught, type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({ types: ["anthropic", "openai", "mock"] });
  await must(
    world.stack,
    world.adminKey,
    "POST",
    "/api/v1/provider-accounts",
    { name: "secret-main", type: "mock", models: [{ name: "echo", kind: "chat" }] },
    201,
  );
}, 30_000);
afterAll(async () => {
  await world?.stop();
});
beforeEach(() => {
  for (const p of world.providers) p.upstream?.reset();
});

const WEATHER = {
  name: "get_weather",
  description: "Current weather for a city",
  input_schema: {
    type: "object" as const,
    properties: { city: { type: "string" } },
    required: ["city"],
  },
};

// Native for an anthropic account, translated from OpenAI chat for the openai and mock accounts.
describe.each(["anthropic", "openai", "mock"] as const)(
  "Anthropic SDK on /v1/messages, %s account",
  (type) => {
    const model = () => {
      const p = world.byType(type);
      return `${p.account}/${p.chatModel}`;
    };

    it("answers a message with text, a stop reason and usage", async () => {
      const message = await world.anthropic().messages.create({
        model: model(),
        max_tokens: 64,
        system: "Be brief.",
        messages: [{ role: "user", content: "Say hello" }],
      });
      expect(message.type).toBe("message");
      expect(message.role).toBe("assistant");
      const text = message.content.find((b) => b.type === "text");
      expect(text?.type === "text" && text.text.length > 0).toBe(true);
      expect(message.stop_reason).toBe("end_turn");
      expect(message.usage.input_tokens).toBeGreaterThan(0);
      expect(message.usage.output_tokens).toBeGreaterThan(0);
      const upstream = world.byType(type).upstream;
      if (upstream) {
        const [req] = upstream.requests;
        // The upstream sees the account's key, never the gateway key the SDK sent as x-api-key.
        expect(JSON.stringify(req?.headers)).not.toContain(world.vat);
        expect(req?.path).toBe(type === "anthropic" ? "/v1/messages" : "/v1/chat/completions");
      }
    });

    it("streams the event sequence and the final message with usage", async () => {
      const stream = world.anthropic().messages.stream({
        model: model(),
        max_tokens: 64,
        messages: [{ role: "user", content: "Say hello" }],
      });
      const events: string[] = [];
      let text = "";
      for await (const event of stream) {
        events.push(event.type);
        if (event.type === "content_block_delta" && event.delta.type === "text_delta")
          text += event.delta.text;
      }
      const final = await stream.finalMessage();
      expect(events[0]).toBe("message_start");
      expect(events).toContain("content_block_start");
      expect(events).toContain("content_block_delta");
      expect(events).toContain("content_block_stop");
      expect(events.at(-2)).toBe("message_delta");
      expect(events.at(-1)).toBe("message_stop");
      expect(text.length).toBeGreaterThan(0);
      expect(final.stop_reason).toBe("end_turn");
      expect(final.usage.output_tokens).toBeGreaterThan(0);
    });

    it("returns a tool_use block, and takes the tool result back", async () => {
      world
        .byType(type)
        .upstream?.setNext({ kind: "toolCall", name: "get_weather", arguments: { city: "Paris" } });
      const message = await world.anthropic().messages.create({
        model: model(),
        max_tokens: 64,
        tools: [WEATHER],
        messages: [{ role: "user", content: "call get_weather for Paris" }],
      });
      expect(message.stop_reason).toBe("tool_use");
      const use = message.content.find((b) => b.type === "tool_use");
      if (use?.type !== "tool_use") throw new Error("expected a tool_use block");
      expect(use.name).toBe("get_weather");
      if (type !== "mock") expect(use.input).toEqual({ city: "Paris" });
      const next = await world.anthropic().messages.create({
        model: model(),
        max_tokens: 64,
        tools: [WEATHER],
        messages: [
          { role: "user", content: "call get_weather for Paris" },
          { role: "assistant", content: message.content },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: use.id, content: "18°C and sunny" }],
          },
        ],
      });
      expect(next.stop_reason).toBe("end_turn");
    });

    it("streams a tool call as input_json_delta pieces", async () => {
      world
        .byType(type)
        .upstream?.setNext({ kind: "toolCall", name: "get_weather", arguments: { city: "Paris" } });
      const stream = world.anthropic().messages.stream({
        model: model(),
        max_tokens: 64,
        tools: [WEATHER],
        messages: [{ role: "user", content: "call get_weather for Paris" }],
      });
      let jsonDeltas = 0;
      for await (const event of stream) {
        if (event.type === "content_block_delta" && event.delta.type === "input_json_delta") jsonDeltas++;
      }
      const final = await stream.finalMessage();
      expect(jsonDeltas).toBeGreaterThan(0);
      expect(final.stop_reason).toBe("tool_use");
      const use = final.content.find((b) => b.type === "tool_use");
      if (use?.type !== "tool_use") throw new Error("expected a tool_use block");
      expect(use.name).toBe("get_weather");
      if (type !== "mock") expect(use.input).toEqual({ city: "Paris" });
    });
  },
);

describe("errors on /v1/messages are Anthropic's", () => {
  const ask = { max_tokens: 16, messages: [{ role: "user" as const, content: "x" }] };

  it("an unknown gateway key is AuthenticationError (x-api-key and Bearer alike)", async () => {
    const viaApiKey = await caught(() =>
      world.anthropic(generateKey("vat")).messages.create({ model: "mock-main/echo", ...ask }),
    );
    expect(viaApiKey).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(viaApiKey).toMatchObject({ error: { type: "error", error: { type: "authentication_error" } } });
    const viaBearer = await caught(() =>
      new Anthropic({
        authToken: generateKey("vat"),
        baseURL: world.stack.url,
        maxRetries: 0,
      }).messages.create({
        model: "mock-main/echo",
        ...ask,
      }),
    );
    expect(viaBearer).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it("a Bearer gateway key works too (authToken)", async () => {
    const client = new Anthropic({ authToken: world.vat, baseURL: world.stack.url, maxRetries: 0 });
    const message = await client.messages.create({ model: "mock-main/echo", ...ask });
    expect(message.content[0]).toMatchObject({ type: "text", text: "mock: x" });
  });

  it("an unknown model is NotFoundError, an ungranted account PermissionDeniedError", async () => {
    const missing = await caught(() => world.anthropic().messages.create({ model: "nope/claude", ...ask }));
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError);
    expect(missing).toMatchObject({ error: { type: "error", error: { type: "not_found_error" } } });
    const denied = await caught(() =>
      world.anthropic().messages.create({ model: "secret-main/echo", ...ask }),
    );
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
  });

  it("an invalid request is BadRequestError", async () => {
    const err = await caught(() =>
      world.anthropic().messages.create({ model: "mock-main/echo", max_tokens: 0, messages: [] }),
    );
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err).toMatchObject({ error: { type: "error", error: { type: "invalid_request_error" } } });
  });

  it("upstream 429 is RateLimitError with retry-after; a rejected provider key is a 502 api_error", async () => {
    const upstream = world.byType("anthropic").upstream;
    upstream?.setNext({ kind: "httpError", status: 429, retryAfter: "30" });
    const limited = await caught(() =>
      world.anthropic().messages.create({ model: "anthropic-main/claude-sonnet-4-5", ...ask }),
    );
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).headers.get("retry-after")).toBe("30");
    upstream?.setNext({ kind: "httpError", status: 401 });
    const auth = await caught(() =>
      world.anthropic().messages.create({ model: "anthropic-main/claude-sonnet-4-5", ...ask }),
    );
    expect(auth).toBeInstanceOf(Anthropic.InternalServerError);
    expect(auth).toMatchObject({ status: 502, error: { type: "error", error: { type: "api_error" } } });
    expect(JSON.stringify((auth as { error: unknown }).error)).not.toContain(upstream?.apiKey);
  });

  it("an upstream 400 on a translated account is BadRequestError with the provider's message", async () => {
    world
      .byType("openai")
      .upstream?.setNext({ kind: "httpError", status: 400, message: "max_tokens is too large" });
    const err = await caught(() =>
      world.anthropic().messages.create({ model: "openai-main/gpt-4o-mini", ...ask }),
    );
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as Error).message).toContain("max_tokens is too large");
  });

  it("an error mid-stream arrives as an Anthropic error event the SDK throws", async () => {
    world
      .byType("anthropic")
      .upstream?.setNext({ kind: "errorMidStream", afterFrames: 3, errorType: "overloaded_error" });
    const err = await caught(async () => {
      const stream = world.anthropic().messages.stream({ model: "anthropic-main/claude-sonnet-4-5", ...ask });
      for await (const _ of stream) {
        // drain
      }
    });
    expect(err).toBeInstanceOf(Anthropic.APIError);
  });
});
