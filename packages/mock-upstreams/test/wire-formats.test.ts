import { afterEach, describe, expect, it } from "vitest";
import {
  type MockUpstream,
  startAnthropicUpstream,
  startAzureUpstream,
  startGeminiUpstream,
  startOpenAIUpstream,
} from "../src/index.js";

let upstream: MockUpstream | undefined;
afterEach(async () => {
  await upstream?.close();
  upstream = undefined;
});

async function post(url: string, body: unknown, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const chat = { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };

describe("OpenAI upstream", () => {
  it("answers chat.completion JSON and records the request", async () => {
    upstream = await startOpenAIUpstream();
    const res = await post(`${upstream.url}/chat/completions`, chat, { authorization: "Bearer test-key" });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({
      object: "chat.completion",
      choices: [{ message: { role: "assistant" }, finish_reason: "stop" }],
    });
    expect(upstream.requests[0]).toMatchObject({ method: "POST", path: "/v1/chat/completions", body: chat });
  });

  it("refuses a wrong key with OpenAI's 401 body", async () => {
    upstream = await startOpenAIUpstream();
    const res = await post(`${upstream.url}/chat/completions`, chat, { authorization: "Bearer nope" });
    expect(res.status).toBe(401);
    expect(JSON.parse(res.text).error.code).toBe("invalid_api_key");
  });

  it("streams N chunks then a usage chunk (when asked) and [DONE]", async () => {
    upstream = await startOpenAIUpstream({ defaultBehaviour: { kind: "answer", chunks: 10 } });
    const res = await post(
      `${upstream.url}/chat/completions`,
      { ...chat, stream: true, stream_options: { include_usage: true } },
      { authorization: "Bearer test-key" },
    );
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const frames = res.text.split("\n\n").filter(Boolean);
    expect(frames).toHaveLength(1 + 10 + 1 + 1 + 1);
    expect(frames.at(-1)).toBe("data: [DONE]");
    expect(JSON.parse(frames.at(-2)?.slice(6) ?? "").usage.total_tokens).toBeGreaterThan(0);
  });

  it("scripts errors with Retry-After in order, then falls back to the default", async () => {
    upstream = await startOpenAIUpstream();
    upstream.setNext({ kind: "httpError", status: 429, retryAfter: "3" }, { kind: "httpError", status: 500 });
    const h = { authorization: "Bearer test-key" };
    const first = await post(`${upstream.url}/chat/completions`, chat, h);
    expect([first.status, first.headers.get("retry-after")]).toEqual([429, "3"]);
    expect((await post(`${upstream.url}/chat/completions`, chat, h)).status).toBe(500);
    expect((await post(`${upstream.url}/chat/completions`, chat, h)).status).toBe(200);
  });

  it("counts closed client connections", async () => {
    upstream = await startOpenAIUpstream();
    upstream.setNext({ kind: "hangBeforeHeaders" });
    const controller = new AbortController();
    const pending = fetch(`${upstream.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer test-key" },
      body: JSON.stringify(chat),
      signal: controller.signal,
    }).catch(() => "aborted");
    const closed = upstream.waitForConnectionClose();
    setTimeout(() => controller.abort(), 50);
    expect(await pending).toBe("aborted");
    await closed;
    expect(upstream.connectionsClosed).toBe(1);
  });
});

describe("OpenAI upstream, Responses API", () => {
  const h = { authorization: "Bearer test-key" };

  it("streams the documented event sequence and keeps the response for retrieve, input_items and delete", async () => {
    upstream = await startOpenAIUpstream();
    const res = await post(
      `${upstream.url}/responses`,
      { model: "gpt-4o-mini", input: "hi", stream: true },
      h,
    );
    const types = [...res.text.matchAll(/^event: ([\w.]+)$/gm)].map((m) => m[1]);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const id = /"id":"(resp_[^"]+)"/.exec(res.text)?.[1];
    const get = await fetch(`${upstream.url}/responses/${id}`, { headers: h });
    expect(((await get.json()) as { status: string }).status).toBe("completed");
    const items = await fetch(`${upstream.url}/responses/${id}/input_items`, { headers: h });
    expect(JSON.stringify(await items.json())).toContain('"text":"hi"');
    expect((await fetch(`${upstream.url}/responses/${id}`, { method: "DELETE", headers: h })).status).toBe(
      200,
    );
    expect((await fetch(`${upstream.url}/responses/${id}`, { headers: h })).status).toBe(404);
    const unknown = await post(
      `${upstream.url}/responses`,
      { model: "m", input: "x", previous_response_id: "resp_nope" },
      h,
    );
    expect(unknown.status).toBe(404);
  });
});

describe("Azure upstream", () => {
  it("routes by deployment, needs api-version and the api-key header", async () => {
    upstream = await startAzureUpstream();
    const url = `${upstream.url}/openai/deployments/prod/chat/completions`;
    expect((await post(`${url}?api-version=2024-10-21`, chat, { "api-key": "test-key" })).status).toBe(200);
    expect((await post(url, chat, { "api-key": "test-key" })).status).toBe(404);
    expect((await post(`${url}?api-version=2024-10-21`, chat, { "api-key": "bad" })).status).toBe(401);
  });
});

describe("Anthropic upstream", () => {
  const h = { "x-api-key": "test-key", "anthropic-version": "2023-06-01" };
  const body = { model: "claude", max_tokens: 10, messages: [{ role: "user", content: "hi" }] };

  it("needs x-api-key and anthropic-version", async () => {
    upstream = await startAnthropicUpstream();
    expect((await post(`${upstream.url}/v1/messages`, body, { ...h, "x-api-key": "bad" })).status).toBe(401);
    expect((await post(`${upstream.url}/v1/messages`, body, { "x-api-key": "test-key" })).status).toBe(400);
  });

  it("streams the documented event order, and an error event mid-stream when scripted", async () => {
    upstream = await startAnthropicUpstream();
    const res = await post(`${upstream.url}/v1/messages`, { ...body, stream: true }, h);
    const types = [...res.text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(types).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    upstream.setNext({ kind: "errorMidStream", afterFrames: 1 });
    const failed = await post(`${upstream.url}/v1/messages`, { ...body, stream: true }, h);
    expect([...failed.text.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])).toEqual([
      "message_start",
      "error",
    ]);
  });
});

describe("Gemini upstream", () => {
  const body = { contents: [{ role: "user", parts: [{ text: "hi" }] }] };

  it("serves generateContent, streamGenerateContent?alt=sse and embeddings; a bad key is 400 API_KEY_INVALID", async () => {
    upstream = await startGeminiUpstream();
    const h = { "x-goog-api-key": "test-key" };
    const json = await post(`${upstream.url}/models/gemini-2.5-flash:generateContent`, body, h);
    expect(JSON.parse(json.text).candidates[0].finishReason).toBe("STOP");
    const sse = await post(`${upstream.url}/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, body, h);
    expect(sse.text.split("\r\n\r\n").filter(Boolean).length).toBe(3);
    const emb = await post(
      `${upstream.url}/models/text-embedding-004:batchEmbedContents`,
      { requests: [{ content: { parts: [{ text: "a" }] } }] },
      h,
    );
    expect(JSON.parse(emb.text).embeddings).toHaveLength(1);
    const bad = await post(`${upstream.url}/models/gemini-2.5-flash:generateContent`, body, {
      "x-goog-api-key": "nope",
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error.details[0].reason).toBe("API_KEY_INVALID");
  });
});
