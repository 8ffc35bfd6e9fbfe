import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { caught, type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({ types: ["openai", "azure-openai", "anthropic", "gemini"] });
}, 30_000);
afterAll(async () => {
  await world?.stop();
});
beforeEach(() => {
  for (const p of world.providers) p.upstream?.reset();
});

const HTTP_TYPES = ["openai", "azure-openai", "anthropic", "gemini"] as const;
const ask = { messages: [{ role: "user" as const, content: "Say hello" }] };

function modelOf(type: (typeof HTTP_TYPES)[number]): string {
  const p = world.byType(type);
  return `${p.account}/${p.chatModel}`;
}

function upstreamOf(type: (typeof HTTP_TYPES)[number]) {
  const u = world.byType(type).upstream;
  if (!u) throw new Error("no upstream");
  return u;
}

/** Nothing in an error the caller sees may reveal the provider key or where the provider lives. */
function expectNoLeak(err: unknown, type: (typeof HTTP_TYPES)[number]): void {
  const u = upstreamOf(type);
  const text = JSON.stringify((err as { error?: unknown }).error ?? {}) + String((err as Error).message);
  expect(text).not.toContain(u.apiKey);
  expect(text).not.toContain(new URL(u.url).host);
}

describe.each(HTTP_TYPES)("upstream errors through a %s account, as the OpenAI SDK sees them", (type) => {
  it("a rejected provider key is 502 provider_auth_failed (the caller's key was fine)", async () => {
    const status = type === "gemini" ? 400 : 401;
    const body =
      type === "gemini"
        ? {
            error: {
              code: 400,
              message: "API key not valid. Please pass a valid API key.",
              status: "INVALID_ARGUMENT",
              details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID" }],
            },
          }
        : undefined;
    upstreamOf(type).setNext({ kind: "httpError", status, ...(body ? { body } : {}) });
    const err = await caught(() => world.openai().chat.completions.create({ model: modelOf(type), ...ask }));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err).toMatchObject({ status: 502, code: "provider_auth_failed" });
    expect((err as Error).message).toContain(world.byType(type).account);
    expectNoLeak(err, type);
  });

  it("429 with a long Retry-After comes back as RateLimitError carrying retry-after", async () => {
    upstreamOf(type).setNext({ kind: "httpError", status: 429, retryAfter: "30" });
    const err = await caught(() => world.openai().chat.completions.create({ model: modelOf(type), ...ask }));
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after")).toBe("30");
    expect(upstreamOf(type).requests).toHaveLength(1);
  });

  it("an invalid request is BadRequestError with the provider's message, not retried", async () => {
    upstreamOf(type).setNext({ kind: "httpError", status: 400, message: "temperature must be at most 2" });
    const err = await caught(() => world.openai().chat.completions.create({ model: modelOf(type), ...ask }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("temperature must be at most 2");
    expect(upstreamOf(type).requests).toHaveLength(1);
    expectNoLeak(err, type);
  });

  it("5xx is retried, then 502", async () => {
    upstreamOf(type).setNext(
      { kind: "httpError", status: 500 },
      { kind: "httpError", status: 503 },
      { kind: "httpError", status: 500 },
    );
    const err = await caught(() => world.openai().chat.completions.create({ model: modelOf(type), ...ask }));
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err).toMatchObject({ status: 502, code: "provider_error" });
    expect(upstreamOf(type).requests).toHaveLength(3);
    expectNoLeak(err, type);
  });

  it("a 5xx followed by success is invisible to the caller", async () => {
    upstreamOf(type).setNext({ kind: "httpError", status: 502 });
    const ok = await world.openai().chat.completions.create({ model: modelOf(type), ...ask });
    expect(ok.choices[0]?.message.content).toEqual(expect.any(String));
    expect(upstreamOf(type).requests).toHaveLength(2);
  });

  it("a body that is not JSON is 502, streaming or not", async () => {
    upstreamOf(type).setNext({ kind: "malformed" }, { kind: "malformed" });
    const err = await caught(() => world.openai().chat.completions.create({ model: modelOf(type), ...ask }));
    expect(err).toMatchObject({ status: 502, code: "provider_error" });
    // Streaming: the 200 is already out when the bad frame arrives, so the error is an SSE error event.
    const streamErr = await caught(async () => {
      const stream = await world
        .openai()
        .chat.completions.create({ model: modelOf(type), ...ask, stream: true });
      for await (const _ of stream) {
        // drain
      }
    });
    expect(streamErr).toBeInstanceOf(OpenAI.APIError);
    expect((streamErr as Error).message).toMatch(/provider|upstream|answer/i);
  });

  it("an error in the middle of a stream reaches the SDK as an APIError after the content so far", async () => {
    upstreamOf(type).setNext({ kind: "errorMidStream", afterFrames: 2, message: "overloaded right now" });
    let chunks = 0;
    const err = await caught(async () => {
      const stream = await world
        .openai()
        .chat.completions.create({ model: modelOf(type), ...ask, stream: true });
      for await (const _ of stream) chunks++;
    });
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(chunks).toBeGreaterThan(0);
  });
});

describe("timeouts and streams (openai account)", () => {
  it("429 before a stream's first byte is a RateLimitError, not a broken stream", async () => {
    upstreamOf("openai").setNext({ kind: "httpError", status: 429, retryAfter: "30" });
    const err = await caught(() =>
      world.openai().chat.completions.create({ model: modelOf("openai"), ...ask, stream: true }),
    );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it("an upstream that never answers is 504", async () => {
    upstreamOf("openai").setNext({ kind: "hangBeforeHeaders" });
    const err = await caught(() =>
      world.openai().chat.completions.create({ model: modelOf("openai"), ...ask }),
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 504, code: "provider_timeout" });
    // Timeouts are not retried: the provider may still be working on the first attempt.
    expect(upstreamOf("openai").requests).toHaveLength(1);
  });

  it("a stream that hangs before its first byte is 504", async () => {
    upstreamOf("anthropic").setNext({ kind: "hangBeforeHeaders" });
    const err = await caught(() =>
      world.openai().chat.completions.create({ model: modelOf("anthropic"), ...ask, stream: true }),
    );
    expect(err).toMatchObject({ status: 504, code: "provider_timeout" });
  });
});
