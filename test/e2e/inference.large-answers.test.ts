import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

/**
 * Answers larger than one NATS message (max_payload, 1 MiB by default) travel in frames and arrive
 * whole; an answer over MAX_RESPONSE_BYTES fails at once with 502 `response_too_large`, never by the
 * dispatch timeout (set to 10 minutes here so a hang could not pass for a failure).
 */
const MAX_RESPONSE_BYTES = 24 * 1024 * 1024;
let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({
    types: ["openai"],
    env: { MAX_RESPONSE_BYTES: String(MAX_RESPONSE_BYTES), DISPATCH_TIMEOUT_MS: "600000" },
  });
}, 30_000);
afterAll(async () => {
  await world?.stop();
});
beforeEach(() => {
  world.byType("openai").upstream?.reset();
});

/** The mock upstream's vector for one input (see mock-upstreams: sha256 of the input's JSON). */
function expectedVector(input: string, dims: number): number[] {
  const digest = createHash("sha256").update(JSON.stringify(input)).digest();
  return Array.from({ length: dims }, (_, i) => ((digest[i % digest.length] ?? 0) - 128) / 128);
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${world.stack.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("answers larger than a NATS message", () => {
  it("40 × 4096-dimension embeddings (~2 MB) arrive complete and identical", async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => `sentence number ${i}`);
    const res = await post("/v1/embeddings", {
      model: "openai-main/text-embedding-3-small",
      input: inputs,
      dimensions: 4096,
      encoding_format: "float",
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
    const body = JSON.parse(text) as { data: Array<{ index: number; embedding: number[] }> };
    expect(body.data).toHaveLength(40);
    for (const [i, input] of inputs.entries()) {
      expect(body.data[i]?.index).toBe(i);
      expect(body.data[i]?.embedding).toEqual(expectedVector(input, 4096));
    }
  }, 60_000);

  it("the same through the OpenAI SDK (base64 embeddings)", async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => `sdk sentence ${i}`);
    const r = await world.openai().embeddings.create({
      model: "openai-main/text-embedding-3-small",
      input: inputs,
      dimensions: 4096,
    });
    expect(r.data).toHaveLength(40);
    expect(r.data[7]?.embedding).toEqual(
      Array.from(Float32Array.from(expectedVector(inputs[7] ?? "", 4096))),
    );
  }, 60_000);

  it("a ~20 MB chat completion arrives byte for byte (OpenAI SDK)", async () => {
    const text = Array.from({ length: 20 * 1024 }, (_, i) => `${i}:${"é".repeat(500)}\n`).join("");
    expect(Buffer.byteLength(text)).toBeGreaterThan(20_000_000);
    world.byType("openai").upstream?.setNext({ kind: "answer", text });
    const completion = await world.openai().chat.completions.create({
      model: "openai-main/gpt-4o-mini",
      messages: [{ role: "user", content: "a long answer" }],
    });
    const content = completion.choices[0]?.message.content ?? "";
    expect(content.length).toBe(text.length);
    expect(content === text).toBe(true);
  }, 120_000);

  it("an answer over MAX_RESPONSE_BYTES fails promptly with 502 response_too_large (OpenAI dialect)", async () => {
    world.byType("openai").upstream?.setNext({ kind: "answer", text: "x".repeat(MAX_RESPONSE_BYTES + 1024) });
    const res = await post("/v1/chat/completions", {
      model: "openai-main/gpt-4o-mini",
      messages: [{ role: "user", content: "too long" }],
    });
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({
      error: {
        message: expect.stringContaining("larger than this gateway relays"),
        type: "api_error",
        param: null,
        code: "response_too_large",
      },
    });
  }, 60_000);

  it("and in the Anthropic dialect on /v1/messages", async () => {
    world.byType("openai").upstream?.setNext({ kind: "answer", text: "y".repeat(MAX_RESPONSE_BYTES + 1024) });
    const res = await post(
      "/v1/messages",
      { model: "openai-main/gpt-4o-mini", max_tokens: 10, messages: [{ role: "user", content: "too long" }] },
      { "anthropic-version": "2023-06-01" },
    );
    expect(res.status).toBe(502);
    const body = (await res.json()) as { type: string; error: { type: string } };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("api_error");
  }, 60_000);

  it("the gateway keeps answering small calls afterwards", async () => {
    const r = await world.openai().chat.completions.create({
      model: "openai-main/gpt-4o-mini",
      messages: [{ role: "user", content: "small" }],
    });
    expect(r.choices[0]?.message.content).toEqual(expect.any(String));
  });
});
