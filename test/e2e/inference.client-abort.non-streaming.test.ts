import { request as httpRequest } from "node:http";
import { waitFor } from "@gatehouse/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

/** A client that leaves a non-streaming call cancels the upstream call, and usage says so (499). */
let world: InferenceWorld;
let sql: postgres.Sql;

beforeAll(async () => {
  world = await startInferenceWorld({
    types: ["openai", "anthropic"],
    // Far above the test's wait: only a cancel can close the upstream connection in time.
    env: { UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "60000", UPSTREAM_IDLE_TIMEOUT_MS: "60000" },
  });
  sql = postgres(world.stack.env.DATABASE_URL ?? "", { max: 1, onnotice: () => {} });
}, 30_000);
afterAll(async () => {
  await sql?.end();
  await world?.stop();
});
beforeEach(() => {
  for (const p of world.providers) p.upstream?.reset();
});

function upstreamOf(type: "openai" | "anthropic") {
  const u = world.byType(type).upstream;
  if (!u) throw new Error("no upstream");
  return u;
}

/** Sends a call and hangs up after `leaveAfterMs`, before any answer. */
function leaveAfter(path: string, body: unknown, requestId: string, leaveAfterMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(`${world.stack.url}${path}`), {
      method: "POST",
      headers: {
        authorization: `Bearer ${world.vat}`,
        "content-type": "application/json",
        "anthropic-version": "2023-06-01",
        "x-request-id": requestId,
      },
    });
    req.on("response", () => reject(new Error("an answer arrived before the client left")));
    req.on("error", () => {});
    req.end(JSON.stringify(body));
    setTimeout(() => {
      req.destroy();
      resolve();
    }, leaveAfterMs);
  });
}

async function usageStatus(requestId: string): Promise<number | undefined> {
  const rows = await sql<{ status: number }[]>`
    select status from dispatch.usage_records where request_id = ${requestId}`;
  return rows[0]?.status;
}

describe("a client that leaves a non-streaming call", () => {
  it.each([
    ["openai", "/v1/chat/completions", "openai-main/gpt-4o-mini"],
    ["anthropic", "/v1/messages", "anthropic-main/claude-sonnet-4-5"],
  ] as const)(
    "cancels the upstream call (%s) and is recorded as 499",
    async (type, path, model) => {
      const upstream = upstreamOf(type);
      // A 5 s call; the client leaves after 1 s.
      upstream.setNext({ kind: "answer", delayMs: 5_000 });
      const requestId = `abort-non-stream-${type}-${Date.now()}`;
      // Keep-alive would hold the connection open for 30 s after an answer: only an abort closes it now.
      const closed = upstream.waitForConnectionClose(10_000);
      await leaveAfter(
        path,
        { model, max_tokens: 50, messages: [{ role: "user", content: "take your time" }] },
        requestId,
        1_000,
      );
      await closed;
      expect(upstream.requests).toHaveLength(1);
      await waitFor(async () => (await usageStatus(requestId)) !== undefined, 15_000, 100);
      expect(await usageStatus(requestId)).toBe(499);
    },
    30_000,
  );

  it("a call that completes is recorded with its own status, and the gateway keeps serving", async () => {
    const r = await world.openai().chat.completions.create({
      model: "openai-main/gpt-4o-mini",
      messages: [{ role: "user", content: "again" }],
    });
    expect(r.choices[0]?.message.content).toEqual(expect.any(String));
  });
});
