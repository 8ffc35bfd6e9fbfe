import { request as httpRequest } from "node:http";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({ types: ["openai", "anthropic", "gemini"] });
}, 30_000);
afterAll(async () => {
  await world?.stop();
});
beforeEach(() => {
  for (const p of world.providers) p.upstream?.reset();
});

/** A slow stream: 200 chunks 50 ms apart would take 10 s if nobody cancelled it. */
const SLOW = { kind: "answer" as const, chunks: 200, chunkDelayMs: 50 };

function upstreamOf(type: "openai" | "anthropic" | "gemini") {
  const u = world.byType(type).upstream;
  if (!u) throw new Error("no upstream");
  return u;
}

describe("a client that goes away cancels the upstream call", () => {
  it.each(["openai", "anthropic", "gemini"] as const)(
    "OpenAI SDK aborted mid-stream (%s account): the upstream connection closes",
    async (type) => {
      const upstream = upstreamOf(type);
      upstream.setNext(SLOW);
      const p = world.byType(type);
      const controller = new AbortController();
      const closed = upstream.waitForConnectionClose(5_000);
      const stream = await world.openai().chat.completions.create(
        {
          model: `${p.account}/${p.chatModel}`,
          messages: [{ role: "user", content: "count" }],
          stream: true,
        },
        { signal: controller.signal },
      );
      let received = 0;
      // The SDK ends the iteration quietly (or throws an abort error, depending on timing).
      await (async () => {
        for await (const _ of stream) {
          if (++received === 3) controller.abort();
        }
      })().catch((err: unknown) => expect(String((err as Error).name)).toMatch(/Abort/));
      expect(received).toBeLessThan(10);
      await closed;
      expect(upstream.requests).toHaveLength(1);
      expect(upstream.connectionsClosed).toBeGreaterThanOrEqual(1);
    },
  );

  it("a raw HTTP client that closes its socket before the first chunk cancels too", async () => {
    const upstream = upstreamOf("openai");
    // Slow to start and slow to go on: the client hangs up while dispatch is still waiting.
    upstream.setNext({ kind: "answer", chunks: 100, chunkDelayMs: 100 });
    const closed = upstream.waitForConnectionClose(5_000);
    const url = new URL(`${world.stack.url}/v1/chat/completions`);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: "POST",
          headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json" },
        },
        (res) => {
          expect(res.statusCode).toBe(200);
          res.once("data", () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on("error", (e) => {
        if ((e as NodeJS.ErrnoException).code !== "ECONNRESET") reject(e);
      });
      req.end(
        JSON.stringify({
          model: "openai-main/gpt-4o-mini",
          messages: [{ role: "user", content: "count" }],
          stream: true,
        }),
      );
    });
    await closed;
    expect(upstream.requests).toHaveLength(1);
  });

  it("a client that leaves while the upstream has not answered at all cancels the upstream call", async () => {
    const upstream = upstreamOf("openai");
    upstream.setNext({ kind: "hangBeforeHeaders" });
    const url = new URL(`${world.stack.url}/v1/chat/completions`);
    const req = httpRequest(url, {
      method: "POST",
      headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json" },
    });
    req.on("error", () => {});
    req.end(
      JSON.stringify({
        model: "openai-main/gpt-4o-mini",
        messages: [{ role: "user", content: "count" }],
        stream: true,
      }),
    );
    await waitFor(() => upstream.requests.length === 1, 5_000);
    // Well inside the 1.5 s first-byte timeout, so only the cancel can close it this soon.
    const closed = upstream.waitForConnectionClose(1_000);
    req.destroy();
    await closed;
  });

  it("the gateway keeps serving after a cancelled stream (no leaked state)", async () => {
    const r = await world.openai().chat.completions.create({
      model: "openai-main/gpt-4o-mini",
      messages: [{ role: "user", content: "again" }],
    });
    expect(r.choices[0]?.message.content).toEqual(expect.any(String));
  });
});
