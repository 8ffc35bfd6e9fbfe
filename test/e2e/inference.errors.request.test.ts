import { generateKey } from "@gatehouse/keys";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { must } from "./access-api.js";
import { caught, type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

const BODY_LIMIT = 64 * 1024;
let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({
    types: ["openai", "anthropic", "mock"],
    env: { BODY_LIMIT_BYTES: String(BODY_LIMIT) },
  });
  // An account nobody was granted.
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

const openaiUpstream = () => {
  const u = world.byType("openai").upstream;
  if (!u) throw new Error("no upstream");
  return u;
};

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${world.stack.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json", ...headers },
    body,
  });
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field.
  return { status: res.status, body: (await res.json()) as any };
}

describe("bad input gets a 400 in the caller's dialect before anything is sent", () => {
  it.each([
    ["not JSON", "{nope", /JSON/],
    ["an array", "[]", /object/],
    ["no model", JSON.stringify({ messages: [{ role: "user", content: "x" }] }), /model/],
    ["no messages", JSON.stringify({ model: "openai-main/gpt-4o-mini" }), /messages/],
    [
      "a non-boolean stream",
      JSON.stringify({
        model: "openai-main/gpt-4o-mini",
        messages: [{ role: "user", content: "x" }],
        stream: "yes",
      }),
      /stream/,
    ],
  ])("chat with %s is 400 in the OpenAI shape", async (_name, body, message) => {
    const r = await post("/v1/chat/completions", body);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      error: {
        message: expect.stringMatching(message),
        type: "invalid_request_error",
        param: null,
        code: "invalid_request",
      },
    });
    expect(openaiUpstream().requests).toHaveLength(0);
  });

  it("is a BadRequestError in the OpenAI SDK", async () => {
    const err = await caught(() =>
      world.openai().chat.completions.create({ model: "openai-main/gpt-4o-mini", messages: [] }),
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err).toMatchObject({ code: "invalid_request", type: "invalid_request_error" });
  });

  it("on /v1/messages it is Anthropic's error shape", async () => {
    const r = await post(
      "/v1/messages",
      JSON.stringify({ model: "anthropic-main/claude-sonnet-4-5", messages: [] }),
    );
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringMatching(/messages/) },
    });
    const noMax = await post(
      "/v1/messages",
      JSON.stringify({
        model: "anthropic-main/claude-sonnet-4-5",
        messages: [{ role: "user", content: "x" }],
      }),
    );
    expect(noMax.status).toBe(400);
    expect(noMax.body.error.message).toMatch(/max_tokens/);
  });

  it("a model of the wrong kind for the endpoint says which endpoint fits", async () => {
    const r = await post("/v1/embeddings", JSON.stringify({ model: "openai-main/gpt-4o-mini", input: "x" }));
    expect(r.status).toBe(400);
    expect(r.body.error.message).toContain("/v1/chat/completions");
  });

  it("a body over BODY_LIMIT_BYTES is 413 and never reaches the provider", async () => {
    const big = "x".repeat(BODY_LIMIT + 1024);
    const err = await caught(() =>
      world.openai().chat.completions.create({
        model: "openai-main/gpt-4o-mini",
        messages: [{ role: "user", content: big }],
      }),
    );
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 413, code: "payload_too_large" });
    const anthropic = await post(
      "/v1/messages",
      JSON.stringify({
        model: "anthropic-main/claude-sonnet-4-5",
        max_tokens: 10,
        messages: [{ role: "user", content: big }],
      }),
    );
    expect(anthropic.status).toBe(413);
    expect(anthropic.body).toMatchObject({ type: "error", error: { type: "request_too_large" } });
    expect(openaiUpstream().requests).toHaveLength(0);
    expect(world.byType("anthropic").upstream?.requests).toHaveLength(0);
  });

  it("a body just under the limit goes through", async () => {
    const content = "y ".repeat((BODY_LIMIT - 512) / 2);
    const ok = await world.openai().chat.completions.create({
      model: "openai-main/gpt-4o-mini",
      messages: [{ role: "user", content }],
    });
    expect(ok.choices[0]?.message.content).toEqual(expect.any(String));
    expect(openaiUpstream().requests).toHaveLength(1);
  });
});

describe("who may call what", () => {
  it("an unknown account or model is NotFoundError", async () => {
    for (const model of ["nope-main/gpt-4o-mini", "openai-main/not-listed", "no-slash"]) {
      const err = await caught(() =>
        world.openai().chat.completions.create({ model, messages: [{ role: "user", content: "x" }] }),
      );
      expect([model, err]).toEqual([model, expect.any(OpenAI.NotFoundError)]);
      expect(err).toMatchObject({ code: "model_not_found" });
    }
  });

  it("an account the caller holds no grant on is PermissionDeniedError", async () => {
    const err = await caught(() =>
      world
        .openai()
        .chat.completions.create({ model: "secret-main/echo", messages: [{ role: "user", content: "x" }] }),
    );
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it("a missing, malformed or unknown key is AuthenticationError", async () => {
    for (const key of ["", "sk-not-a-gateway-key", generateKey("vat")]) {
      const err = await caught(() =>
        world.openai(key).chat.completions.create({
          model: "mock-main/echo",
          messages: [{ role: "user", content: "x" }],
        }),
      );
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    }
  });
});

describe("nothing in the request can redirect the call", () => {
  const smuggled = {
    base_url: "http://127.0.0.1:9/v1",
    api_base: "http://127.0.0.1:9/v1",
    api_key: "sk-attacker-key",
    provider: "anthropic",
    custom_host: "http://127.0.0.1:9",
    extra_headers: { authorization: "Bearer sk-attacker-key" },
    provider_options: { baseUrl: "http://127.0.0.1:9" },
  };
  const headers = {
    "x-portkey-custom-host": "http://127.0.0.1:9",
    "x-portkey-provider": "anthropic",
    "x-portkey-api-key": "sk-attacker-key",
    "x-gatehouse-account": "secret-main",
    "x-base-url": "http://127.0.0.1:9",
    "openai-organization": "org-attacker",
  };

  it.each([false, true])(
    "OpenAI account, stream %s: path, key and body are the account's own",
    async (stream) => {
      // Deliberately untyped fields, as an attacker would send them.
      const params = {
        model: "openai-main/gpt-4o-mini",
        messages: [{ role: "user" as const, content: "x" }],
        stream,
        ...smuggled,
      } as OpenAI.ChatCompletionCreateParams;
      const answer = await world.openai().chat.completions.create(params, { headers });
      if (stream) for await (const _ of answer as unknown as AsyncIterable<unknown>);
      const [req, ...rest] = openaiUpstream().requests;
      expect(rest).toEqual([]);
      expect(req?.path).toBe("/v1/chat/completions");
      expect(req?.headers.authorization).toBe(`Bearer ${openaiUpstream().apiKey}`);
      expect(req?.headers["openai-organization"]).toBeUndefined();
      for (const h of Object.keys(headers).filter((h) => h !== "openai-organization"))
        expect(req?.headers[h]).toBeUndefined();
      const body = req?.body as Record<string, unknown>;
      for (const field of Object.keys(smuggled)) expect(body).not.toHaveProperty(field);
      expect(body.model).toBe("gpt-4o-mini");
      expect(JSON.stringify(req)).not.toContain("sk-attacker-key");
      expect(JSON.stringify(req)).not.toContain(world.vat);
    },
  );

  it("Anthropic account via /v1/messages: x-api-key is the account's, not the caller's", async () => {
    const upstream = world.byType("anthropic").upstream;
    const r = await post(
      "/v1/messages",
      JSON.stringify({
        model: "anthropic-main/claude-sonnet-4-5",
        max_tokens: 32,
        messages: [{ role: "user", content: "x" }],
        ...smuggled,
      }),
      headers,
    );
    expect(r.status).toBe(200);
    const [req] = upstream?.requests ?? [];
    expect(req?.path).toBe("/v1/messages");
    expect(req?.headers["x-api-key"]).toBe(upstream?.apiKey);
    expect(req?.headers.authorization).toBeUndefined();
    for (const field of Object.keys(smuggled)) expect(req?.body).not.toHaveProperty(field);
    expect(JSON.stringify(req)).not.toContain(world.vat);
  });
});
