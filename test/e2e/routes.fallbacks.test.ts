import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { caught } from "./inference-harness.js";
import { chatRequests, type RoutesWorld, startRoutesWorld } from "./routes-world.js";

let world: RoutesWorld;

beforeAll(async () => {
  world = await startRoutesWorld();
}, 60_000);
afterAll(async () => {
  await world?.stop();
});
beforeEach(() => {
  for (const u of Object.values(world.up)) u.reset();
});

const ask = { messages: [{ role: "user" as const, content: "Say hello" }] };
let routes = 0;

/** A fresh route (so breaker state never carries over between tests), granted to the world's app. */
async function newRoute(targets: string[], extra: Record<string, unknown> = {}): Promise<string> {
  routes++;
  const name = `r${routes}-${Date.now()}`;
  await world.route({ name, kind: "chat", targets: targets.map((model) => ({ model })), ...extra });
  await world.grantRoute(name);
  return name;
}

async function chat(model: string) {
  const { data, response } = await world
    .openai()
    .chat.completions.create({ model, ...ask })
    .withResponse();
  return {
    text: data.choices[0]?.message.content,
    route: response.headers.get("x-gatehouse-route"),
    target: response.headers.get("x-gatehouse-target"),
  };
}

describe("fallbacks before the first byte", () => {
  it("a 500 goes on to the next target, with no retry of the first; the headers name route and target", async () => {
    const route = await newRoute(["up-a/gpt", "up-b/gpt"]);
    world.up.a.setNext({ kind: "httpError", status: 500 });
    world.up.b.setNext({ kind: "answer", text: "from b" });
    const answer = await chat(route);
    expect(answer).toEqual({ text: "from b", route, target: "up-b/gpt" });
    expect(chatRequests(world.up.a)).toBe(1);
    expect(chatRequests(world.up.b)).toBe(1);
  });

  it("a healthy first target answers alone (priority)", async () => {
    const route = await newRoute(["up-a/gpt", "up-b/gpt"]);
    const answer = await chat(route);
    expect(answer.target).toBe("up-a/gpt");
    expect(chatRequests(world.up.b)).toBe(0);
  });

  it("a target that refuses connections is passed over", async () => {
    const route = await newRoute(["up-dead/gpt", "up-b/gpt"]);
    world.up.b.setNext({ kind: "answer", text: "from b" });
    expect(await chat(route)).toMatchObject({ text: "from b", target: "up-b/gpt" });
  });

  it("a target that hangs is left after the route's first-byte timeout, streamed or not", async () => {
    const route = await newRoute(["up-a/gpt", "up-b/gpt"], { first_byte_timeout_ms: 300 });
    world.up.a.setNext({ kind: "hangBeforeHeaders" }, { kind: "hangBeforeHeaders" });
    world.up.b.setNext({ kind: "answer", text: "from b" }, { kind: "answer", text: "streamed b", chunks: 3 });
    expect(await chat(route)).toMatchObject({ text: "from b", target: "up-b/gpt" });
    const { data: stream, response } = await world
      .openai()
      .chat.completions.create({ model: route, ...ask, stream: true })
      .withResponse();
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("streamed b");
    expect(response.headers.get("x-gatehouse-target")).toBe("up-b/gpt");
  });

  it("a 429 goes on, and its Retry-After keeps the target out of the next calls", async () => {
    const route = await newRoute(["up-a/gpt", "up-b/gpt"]);
    world.up.a.setNext({ kind: "httpError", status: 429, retryAfter: "30" });
    expect((await chat(route)).target).toBe("up-b/gpt");
    expect((await chat(route)).target).toBe("up-b/gpt");
    expect(chatRequests(world.up.a)).toBe(1);
  });

  it("a caller error (400) is not a reason to go on unless the route says so", async () => {
    const strict = await newRoute(["up-a/gpt", "up-b/gpt"]);
    world.up.a.setNext({ kind: "httpError", status: 400, message: "maximum context length exceeded" });
    const err = await caught(() => chat(strict));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(chatRequests(world.up.b)).toBe(0);

    const lenient = await newRoute(["up-a/gpt", "up-b/gpt"], {
      fallback_on: ["connect", "timeout", "rate_limit", "server_error", "invalid_request"],
    });
    world.up.a.setNext({ kind: "httpError", status: 400, message: "maximum context length exceeded" });
    expect((await chat(lenient)).target).toBe("up-b/gpt");
  });

  it("when every target fails the caller gets the last one's error, in its dialect", async () => {
    const route = await newRoute(["up-a/gpt", "up-b/gpt"]);
    world.up.a.setNext({ kind: "httpError", status: 500 });
    world.up.b.setNext({ kind: "httpError", status: 503 });
    const err = await caught(() => chat(route));
    expect(err).toMatchObject({ status: 502, code: "provider_error" });
    const messages = new Anthropic({ apiKey: world.vat, baseURL: world.stack.url, maxRetries: 0 });
    world.up.a.setNext({ kind: "httpError", status: 500 });
    world.up.b.setNext({ kind: "httpError", status: 500 });
    const anthropicErr = await caught(() =>
      messages.messages.create({ model: route, max_tokens: 32, messages: ask.messages }),
    );
    expect(anthropicErr).toBeInstanceOf(Anthropic.APIError);
    expect((anthropicErr as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: "error" });
  });
});

describe("never after the first byte", () => {
  it("a stream that fails midway ends with an error event; the next target is not asked", async () => {
    const route = await newRoute(["up-a/gpt", "up-b/gpt"]);
    world.up.a.setNext({ kind: "errorMidStream", afterFrames: 2 });
    const res = await fetch(`${world.stack.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json" },
      body: JSON.stringify({ model: route, ...ask, stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gatehouse-target")).toBe("up-a/gpt");
    const body = await res.text();
    expect(body).toContain('"error"');
    expect(chatRequests(world.up.b)).toBe(0);
  });
});

describe("circuit breaker", () => {
  it("a target that keeps failing is skipped for the cooldown, then probed and used again", async () => {
    const route = await newRoute(["up-a/gpt", "up-b/gpt"], { failure_threshold: 2, cooldown_ms: 3_000 });
    world.up.a.setNext({ kind: "httpError", status: 500 }, { kind: "httpError", status: 500 });
    expect((await chat(route)).target).toBe("up-b/gpt");
    expect((await chat(route)).target).toBe("up-b/gpt");
    // Open: the next calls do not reach up-a at all.
    expect((await chat(route)).target).toBe("up-b/gpt");
    expect(chatRequests(world.up.a)).toBe(2);
    // After the cooldown one call probes up-a; it answers, so it is the first choice again.
    const deadline = Date.now() + 15_000;
    let target: string | null = null;
    while (Date.now() < deadline) {
      target = (await chat(route)).target;
      if (target === "up-a/gpt") break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(target).toBe("up-a/gpt");
    expect((await chat(route)).target).toBe("up-a/gpt");
  }, 30_000);
});

describe("balancing", () => {
  it("weighted: 1,000 calls split 3:1 within statistical tolerance", async () => {
    const route = `weighted-${Date.now()}`;
    await world.route({
      name: route,
      kind: "chat",
      strategy: "weighted",
      targets: [
        { model: "up-a/gpt", weight: 3 },
        { model: "up-b/gpt", weight: 1 },
      ],
    });
    await world.grantRoute(route);
    const counts = new Map<string, number>();
    const client = world.openai();
    let next = 0;
    const worker = async () => {
      while (next < 1_000) {
        next++;
        const { response } = await client.chat.completions.create({ model: route, ...ask }).withResponse();
        const target = response.headers.get("x-gatehouse-target") ?? "";
        counts.set(target, (counts.get(target) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const a = counts.get("up-a/gpt") ?? 0;
    const b = counts.get("up-b/gpt") ?? 0;
    expect(a + b).toBe(1_000);
    // Binomial(1000, 0.75): mean 750, sd ≈ 13.7; ±5 sd.
    expect(a).toBeGreaterThan(680);
    expect(a).toBeLessThan(820);
  }, 120_000);
});

describe("every endpoint and dialect", () => {
  it("embeddings, completions and Anthropic messages (streamed too) go through routes of their kind", async () => {
    const t = Date.now();
    await world.route({
      name: `emb-${t}`,
      kind: "embedding",
      targets: [{ model: "up-dead/emb" }, { model: "up-a/emb" }],
    });
    await world.grantRoute(`emb-${t}`);
    const { data, response } = await world
      .openai()
      .embeddings.create({ model: `emb-${t}`, input: "hello" })
      .withResponse();
    expect(data.data[0]?.embedding.length).toBeGreaterThan(0);
    expect(response.headers.get("x-gatehouse-target")).toBe("up-a/emb");

    await world.route({ name: `inst-${t}`, kind: "completion", targets: [{ model: "up-b/inst" }] });
    await world.grantRoute(`inst-${t}`);
    world.up.b.setNext({ kind: "answer", text: "completed" });
    const completion = await world.openai().completions.create({ model: `inst-${t}`, prompt: "x" });
    expect(completion.choices[0]?.text).toBe("completed");

    const chatRoute = await newRoute(["up-dead/gpt", "up-c/gpt"]);
    const messages = new Anthropic({ apiKey: world.vat, baseURL: world.stack.url, maxRetries: 0 });
    world.up.c.setNext(
      { kind: "answer", text: "anthropic via route" },
      { kind: "answer", text: "streamed", chunks: 2 },
    );
    const message = await messages.messages.create({
      model: chatRoute,
      max_tokens: 32,
      messages: ask.messages,
    });
    expect(message.content[0]).toMatchObject({ type: "text", text: "anthropic via route" });
    let streamed = "";
    const stream = messages.messages.stream({ model: chatRoute, max_tokens: 32, messages: ask.messages });
    for await (const event of stream) {
      if (event.type === "content_block_delta" && event.delta.type === "text_delta")
        streamed += event.delta.text;
    }
    expect(streamed).toBe("streamed");

    // A route of one kind is refused for another endpoint, as a model of that kind would be.
    const wrong = await caught(() => world.openai().embeddings.create({ model: chatRoute, input: "x" }));
    expect(wrong).toMatchObject({ status: 400 });
  });

  it("the usage record names the route and the target that answered", async () => {
    const route = await newRoute(["up-a/gpt", "up-b/gpt"]);
    world.up.a.setNext({ kind: "httpError", status: 500 });
    await chat(route);
    const deadline = Date.now() + 15_000;
    let rows: Array<{ account: string; model: string; route: string | null; status: number }> = [];
    while (Date.now() < deadline) {
      rows =
        await world.sql`select account, model, route, status from dispatch.usage_records where route = ${route}`;
      if (rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(rows).toEqual([{ account: "up-b", model: "gpt", route, status: 200 }]);
  });
});
