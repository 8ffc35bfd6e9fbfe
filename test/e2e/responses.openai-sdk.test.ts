import { openDatabase } from "@gatehouse/db";
import { generateKey } from "@gatehouse/keys";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newVirtualAccount } from "./access-api.js";
import { caught, type InferenceWorld, startInferenceWorld, WEATHER_TOOL } from "./inference-harness.js";

let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld();
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

const TYPES = ["openai", "azure-openai", "anthropic", "gemini", "mock"] as const;

/** The chat tests' tool in the Responses shape (flat, strict). */
const WEATHER = {
  type: "function" as const,
  ...WEATHER_TOOL.function,
  parameters: { ...WEATHER_TOOL.function.parameters, additionalProperties: false },
  strict: true,
};

describe.each(TYPES)("OpenAI SDK responses through a %s account", (type) => {
  const model = () => {
    const p = world.byType(type);
    return `${p.account}/${p.chatModel}`;
  };

  it("creates a response with output text and usage", async () => {
    const response = await world.openai().responses.create({
      model: model(),
      instructions: "Be brief.",
      input: "Say hello",
    });
    expect(response.object).toBe("response");
    expect(response.status).toBe("completed");
    expect(response.output_text.length).toBeGreaterThan(0);
    if (type === "mock") expect(response.output_text).toBe("mock: Say hello");
    expect(response.usage?.input_tokens).toBeGreaterThan(0);
    expect(response.usage?.output_tokens).toBeGreaterThan(0);
  });

  it("streams the event sequence; the deltas add up to the completed response's text", async () => {
    const stream = await world
      .openai()
      .responses.create({ model: model(), input: "Say hello", stream: true });
    const types: string[] = [];
    let text = "";
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") completed = event.response;
    }
    expect(types[0]).toBe("response.created");
    expect(types).toContain("response.output_item.added");
    expect(types).toContain("response.content_part.added");
    expect(types).toContain("response.output_text.done");
    expect(types.at(-1)).toBe("response.completed");
    expect(text.length).toBeGreaterThan(0);
    const message = completed?.output.find((item) => item.type === "message");
    expect(
      message?.type === "message" && message.content[0]?.type === "output_text" && message.content[0].text,
    ).toBe(text);
    expect(completed?.usage?.output_tokens).toBeGreaterThan(0);
  });

  it("round-trips a function tool: the call, then its output as input items", async () => {
    const upstream = world.byType(type).upstream;
    upstream?.setNext({ kind: "toolCall", name: "get_weather", arguments: { city: "Paris" } });
    const client = world.openai();
    const first = await client.responses.create({
      model: model(),
      input: "call get_weather for Paris",
      tools: [WEATHER],
    });
    const call = first.output.find((item) => item.type === "function_call");
    if (call?.type !== "function_call") throw new Error("expected a function call");
    expect(call.name).toBe("get_weather");
    expect(JSON.parse(call.arguments)).toBeTypeOf("object");
    const second = await client.responses.create({
      model: model(),
      tools: [WEATHER],
      input: [
        { role: "user", content: "call get_weather for Paris" },
        { type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments },
        { type: "function_call_output", call_id: call.call_id, output: "sunny, 21 C" },
      ],
    });
    expect(second.output_text.length).toBeGreaterThan(0);
    if (type === "mock") expect(second.output_text).toBe("mock: tool said sunny, 21 C");
    else expect(JSON.stringify(upstream?.requests.at(-1)?.body)).toContain("sunny, 21 C");
  });
});

describe("a Responses stream that breaks off", () => {
  it.each(["openai", "gemini"] as const)(
    "through a %s account ends with the API's error event, numbered after the events before it",
    async (type) => {
      const p = world.byType(type);
      p.upstream?.setNext({ kind: "errorMidStream", afterFrames: 3 });
      const stream = await world
        .openai()
        .responses.create({ model: `${p.account}/${p.chatModel}`, input: "Say hello", stream: true });
      const events: Array<{ type: string; sequence_number: number; code?: string }> = [];
      for await (const event of stream) events.push(event as (typeof events)[number]);
      const last = events.at(-1);
      expect(last?.type).toBe("error");
      expect(last?.code).toMatch(/^provider_/);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    },
  );
});

describe("structured output and errors", () => {
  it("returns JSON that matches the caller's schema (text.format json_schema) on the mock account", async () => {
    const response = await world.openai().responses.create({
      model: "mock-main/echo",
      input: "Paris",
      text: {
        format: {
          type: "json_schema",
          name: "city",
          strict: true,
          schema: {
            type: "object",
            properties: { city: { type: "string" }, letters: { type: "integer" } },
            required: ["city", "letters"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(JSON.parse(response.output_text)).toEqual({ city: "Paris", letters: 1 });
  });

  it("refuses a JSON schema on an account type without JSON output, naming text.format", async () => {
    const error = await caught(() =>
      world.openai().responses.create({
        model: "anthropic-main/claude-sonnet-4-5",
        input: "Paris",
        text: { format: { type: "json_schema", name: "x", schema: { type: "object" } } },
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toContain("text.format");
    expect((error as Error).message).toContain("anthropic");
  });

  it("answers typed SDK errors: unknown key, no grant, unknown model, unknown response", async () => {
    const unknownKey = await caught(() =>
      world.openai(generateKey("vat")).responses.create({ model: "mock-main/echo", input: "hi" }),
    );
    expect(unknownKey).toBeInstanceOf(OpenAI.AuthenticationError);
    const outsider = await newVirtualAccount(world.stack, world.adminKey, `no-grant-${Date.now()}`);
    const denied = await caught(() =>
      world.openai(outsider.key).responses.create({ model: "mock-main/echo", input: "hi" }),
    );
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const noModel = await caught(() =>
      world.openai().responses.create({ model: "mock-main/nope", input: "hi" }),
    );
    expect(noModel).toBeInstanceOf(OpenAI.NotFoundError);
    const noResponse = await caught(() => world.openai().responses.retrieve("resp_does_not_exist"));
    expect(noResponse).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("with Gatehouse's store off (the default) names the setting when a translated response is reused", async () => {
    const client = world.openai();
    const created = await client.responses.create({ model: "mock-main/echo", input: "hi" });
    expect((created as unknown as { store: boolean }).store).toBe(false);
    for (const attempt of [
      () =>
        client.responses.create({ model: "mock-main/echo", input: "more", previous_response_id: created.id }),
      () => client.responses.retrieve(created.id),
    ]) {
      const error = await caught(attempt);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as Error).message).toContain("GATEHOUSE_RESPONSE_STORE_DAYS");
    }
    // The provider keeps native responses: they work without Gatehouse's store.
    const native = await client.responses.create({ model: "openai-main/gpt-4o-mini", input: "hi" });
    expect((await client.responses.retrieve(native.id)).id).toBe(native.id);
  });

  it("records one usage row per call with the operation 'responses'", async () => {
    const requestId = `responses-usage-${Date.now()}`;
    await world
      .openai()
      .responses.create(
        { model: "mock-main/echo", input: "count me" },
        { headers: { "x-request-id": requestId } },
      );
    const database = await openDatabase({ url: world.stack.env.DATABASE_URL, maxConnections: 1 });
    try {
      const db = database.drizzle({});
      let rows: Array<Record<string, unknown>> = [];
      for (let i = 0; i < 50 && rows.length === 0; i++) {
        rows = (await db.execute(
          `SELECT operation, prompt_tokens, completion_tokens, status FROM dispatch.usage_records WHERE request_id = '${requestId}'`,
        )) as unknown as Array<Record<string, unknown>>;
        if (rows.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ operation: "responses", status: 200 });
      expect(Number(rows[0]?.completion_tokens)).toBeGreaterThan(0);
    } finally {
      await database.close();
    }
  });
});
