import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InferenceWorld, startInferenceWorld, WEATHER_TOOL } from "./inference-harness.js";

let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld();
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

const TYPES = ["openai", "azure-openai", "anthropic", "gemini", "mock"] as const;

describe.each(TYPES)("OpenAI SDK chat through a %s account", (type) => {
  const model = () => {
    const p = world.byType(type);
    return `${p.account}/${p.chatModel}`;
  };

  it("answers a non-streaming chat with usage, naming the model as called", async () => {
    const completion = await world.openai().chat.completions.create({
      model: model(),
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Say hello" },
      ],
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message.role).toBe("assistant");
    expect(completion.choices[0]?.message.content).toEqual(expect.any(String));
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it("streams content chunks and, with include_usage, the final usage chunk", async () => {
    const stream = await world.openai().chat.completions.create({
      model: model(),
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null | undefined;
    const usageChunks: unknown[] = [];
    let last: unknown;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      text += chunk.choices[0]?.delta.content ?? "";
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usageChunks.push(chunk);
      last = chunk;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(finish).toBe("stop");
    expect(usageChunks).toHaveLength(1);
    // The usage chunk is the last one and has no choices, as OpenAI sends it.
    expect(last).toBe(usageChunks[0]);
    expect(last).toMatchObject({
      choices: [],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) },
    });
  });

  it("streams without a usage chunk when the caller did not ask for one", async () => {
    const stream = await world.openai().chat.completions.create({
      model: model(),
      messages: [{ role: "user", content: "Say hello" }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks.filter((c) => c.usage)).toEqual([]);
  });

  it("returns a tool call (non-streaming)", async () => {
    world
      .byType(type)
      .upstream?.setNext({ kind: "toolCall", name: "get_weather", arguments: { city: "Paris" } });
    const completion = await world.openai().chat.completions.create({
      model: model(),
      messages: [{ role: "user", content: "call get_weather for Paris" }],
      tools: [WEATHER_TOOL],
    });
    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    const call = choice?.message.tool_calls?.[0];
    expect(call?.type).toBe("function");
    if (call?.type !== "function") throw new Error("expected a function call");
    expect(call.function.name).toBe("get_weather");
    expect(call.id).toEqual(expect.any(String));
    const args = JSON.parse(call.function.arguments);
    if (type !== "mock") expect(args).toEqual({ city: "Paris" });
    else expect(args).toEqual(expect.any(Object));
  });

  it("streams tool-call deltas that assemble into the call", async () => {
    world
      .byType(type)
      .upstream?.setNext({ kind: "toolCall", name: "get_weather", arguments: { city: "Paris" } });
    const stream = await world.openai().chat.completions.create({
      model: model(),
      messages: [{ role: "user", content: "call get_weather for Paris" }],
      tools: [WEATHER_TOOL],
      stream: true,
      stream_options: { include_usage: true },
    });
    let name = "";
    let id = "";
    let args = "";
    let deltas = 0;
    let finish: string | null | undefined;
    let usage = false;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        expect(delta.index).toBe(0);
        deltas++;
        id += delta.id ?? "";
        name += delta.function?.name ?? "";
        args += delta.function?.arguments ?? "";
      }
      finish ??= chunk.choices[0]?.finish_reason;
      if (chunk.usage) usage = true;
    }
    expect(name).toBe("get_weather");
    expect(id.length).toBeGreaterThan(0);
    if (type !== "mock") {
      expect(JSON.parse(args)).toEqual({ city: "Paris" });
      // Arguments arrive in pieces, as each provider streams them (Gemini sends the call whole).
      if (type !== "gemini") expect(deltas).toBeGreaterThan(1);
    } else {
      expect(JSON.parse(args)).toEqual(expect.any(Object));
    }
    expect(finish).toBe("tool_calls");
    expect(usage).toBe(true);
  });
});

describe("embeddings, completions and models", () => {
  it.each(["openai", "azure-openai", "gemini", "mock"] as const)(
    "embeds through a %s account",
    async (type) => {
      const p = world.byType(type);
      const result = await world.openai().embeddings.create({
        model: `${p.account}/${p.embeddingModel}`,
        input: ["first text", "second text"],
      });
      expect(result.object).toBe("list");
      expect(result.data).toHaveLength(2);
      expect(result.data.map((d) => d.index)).toEqual([0, 1]);
      for (const d of result.data) {
        expect(d.embedding.length).toBeGreaterThan(0);
        expect(d.embedding.every((x) => typeof x === "number")).toBe(true);
      }
      // The SDK asks for base64 by default and decodes it; asking for floats must give the same vectors.
      const floats = await world.openai().embeddings.create({
        model: `${p.account}/${p.embeddingModel}`,
        input: ["first text", "second text"],
        encoding_format: "float",
      });
      expect(floats.data.map((d) => d.embedding.length)).toEqual(result.data.map((d) => d.embedding.length));
      floats.data.forEach((d, i) => {
        d.embedding.forEach((x, j) => {
          expect(result.data[i]?.embedding[j]).toBeCloseTo(x, 5);
        });
      });
      if (type === "mock") expect(result.data[0]?.embedding).toHaveLength(8);
    },
  );

  it.each(["openai", "azure-openai", "mock"] as const)(
    "completes a prompt through a %s account",
    async (type) => {
      const p = world.byType(type);
      const result = await world.openai().completions.create({
        model: `${p.account}/${p.completionModel}`,
        prompt: "Once upon a time",
        max_tokens: 16,
      });
      expect(result.object).toBe("text_completion");
      expect(result.choices[0]?.text).toEqual(expect.any(String));
      const stream = await world.openai().completions.create({
        model: `${p.account}/${p.completionModel}`,
        prompt: "Once upon a time",
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage = false;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? "";
        if (chunk.usage) usage = true;
      }
      expect(text.length).toBeGreaterThan(0);
      expect(usage).toBe(true);
    },
  );

  it("refuses completions for a provider that has none, in the OpenAI shape", async () => {
    const { account } = world.byType("anthropic");
    // A chat model on an account whose provider offers no legacy completions.
    const err = await world
      .openai()
      .completions.create({ model: `${account}/claude-sonnet-4-5`, prompt: "hi" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ status: 400 });
  });

  it("lists exactly the granted models, with the SDK's pager", async () => {
    const ids: string[] = [];
    for await (const m of world.openai().models.list()) ids.push(m.id);
    const expected = world.providers.flatMap((p) =>
      [p.chatModel, p.embeddingModel, p.completionModel]
        .filter((m): m is string => m !== undefined)
        .map((m) => `${p.account}/${m}`),
    );
    expect(ids.sort()).toEqual(expected.sort());
    const one = await world.openai().models.retrieve("openai-main/gpt-4o-mini");
    expect(one).toMatchObject({ id: "openai-main/gpt-4o-mini", object: "model", owned_by: "openai-main" });
  });

  it("answers through a PAT of a user granted the account too", async () => {
    const { newMember } = await import("./identity-api.js");
    const { grant } = await import("./access-api.js");
    const member = await newMember(world.stack, world.adminKey, "pat-caller");
    await grant(world.stack, world.adminKey, "mock-main", { kind: "user", id: member.user.id });
    const completion = await world.openai(member.key).chat.completions.create({
      model: "mock-main/echo",
      messages: [{ role: "user", content: "ping" }],
    });
    expect(completion.choices[0]?.message.content).toBe("mock: ping");
  });
});
