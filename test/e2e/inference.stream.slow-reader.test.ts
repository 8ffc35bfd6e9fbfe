import { request as httpRequest, type IncomingMessage } from "node:http";
import { waitFor } from "@gatehouse/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

/**
 * A client that asks for a large stream and never reads: dispatch stops reading the upstream once
 * ingress's window for the stream is full, and after STREAM_WRITE_TIMEOUT_MS the stream is ended,
 * the upstream call cancelled and the usage record says 408 (stream_write_timeout).
 */
const FRAMES = 2_000;
/** ~20 MB: far more than the loopback socket buffers between ingress and the client can hold. */
const TEXT = "x".repeat(10 * 1024 * FRAMES);
let world: InferenceWorld;
let sql: postgres.Sql;

beforeAll(async () => {
  world = await startInferenceWorld({
    types: ["openai"],
    env: { STREAM_WRITE_TIMEOUT_MS: "4000", UPSTREAM_IDLE_TIMEOUT_MS: "60000" },
  });
  sql = postgres(world.stack.env.DATABASE_URL ?? "", { max: 1, onnotice: () => {} });
}, 30_000);
afterAll(async () => {
  await sql?.end();
  await world?.stop();
});

function upstream() {
  const u = world.byType("openai").upstream;
  if (!u) throw new Error("no upstream");
  return u;
}

describe("a stream whose client never reads", () => {
  it("stops pulling from the upstream, then is ended and its upstream cancelled", async () => {
    upstream().reset();
    upstream().setNext({ kind: "answer", text: TEXT, chunks: FRAMES });
    const before = upstream().framesSent;
    const requestId = `slow-reader-${Date.now()}`;
    const upstreamClosed = upstream().waitForConnectionClose(30_000);
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(new URL(`${world.stack.url}/v1/chat/completions`), {
        method: "POST",
        headers: {
          authorization: `Bearer ${world.vat}`,
          "content-type": "application/json",
          "x-request-id": requestId,
        },
      });
      req.on("response", (res) => {
        expect(res.statusCode).toBe(200);
        res.pause(); // and read nothing until the gateway has given up on it
        resolve(res);
      });
      req.on("error", () => {});
      setTimeout(() => reject(new Error("no response headers")), 10_000);
      req.end(
        JSON.stringify({
          model: "openai-main/gpt-4o-mini",
          messages: [{ role: "user", content: "a lot" }],
          stream: true,
        }),
      );
    });
    // The upstream stalls: what it sent stops growing, well short of the whole answer.
    let last = -1;
    await waitFor(
      async () => {
        const now = upstream().framesSent;
        const stalled = now === last;
        last = now;
        return stalled;
      },
      15_000,
      500,
    );
    const stalledAt = upstream().framesSent - before;
    expect(stalledAt).toBeLessThan(FRAMES / 2);
    // Then the write timeout ends the stream and cancels the upstream call.
    await upstreamClosed;
    expect(upstream().framesSent - before).toBeLessThan(FRAMES / 2);
    // Reading now, the client finds its stream cut short: the gateway ended it.
    const received = await new Promise<number>((resolve) => {
      let bytes = 0;
      response.on("data", (chunk: Buffer) => {
        bytes += chunk.byteLength;
      });
      response.on("error", () => resolve(bytes));
      response.on("close", () => resolve(bytes));
      response.resume();
    });
    expect(received).toBeLessThan(TEXT.length / 2);
    await waitFor(
      async () =>
        (await sql`select 1 from dispatch.usage_records where request_id = ${requestId}`).length > 0,
      15_000,
      100,
    );
    const [row] = await sql<{ status: number; stream: boolean }[]>`
      select status, stream from dispatch.usage_records where request_id = ${requestId}`;
    expect(row).toEqual({ status: 408, stream: true });
  }, 60_000);

  it("a client that reads late gets one event larger than many NATS messages whole", async () => {
    // One upstream event of 12 MB: more than ingress holds unread for a stream (a window and two
    // frames), so dispatch must send it within the credit window like any other chunk data.
    const big = "y".repeat(12 * 1024 * 1024);
    upstream().setNext({ kind: "answer", text: big, chunks: 1 });
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(new URL(`${world.stack.url}/v1/chat/completions`), {
        method: "POST",
        headers: { authorization: `Bearer ${world.vat}`, "content-type": "application/json" },
      });
      req.on("response", (res) => {
        expect(res.statusCode).toBe(200);
        res.pause(); // a client on a slow link: it reads after a while (well within the write timeout)
        const parts: Buffer[] = [];
        res.on("data", (chunk: Buffer) => parts.push(chunk));
        res.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
        res.on("error", reject);
        setTimeout(() => res.resume(), 1_500);
      });
      req.on("error", reject);
      req.end(
        JSON.stringify({
          model: "openai-main/gpt-4o-mini",
          messages: [{ role: "user", content: "one big event" }],
          stream: true,
        }),
      );
    });
    expect(body).not.toContain('"error"');
    const text = body
      .split("\n\n")
      .filter((e) => e.startsWith("data: {"))
      .map(
        (e) =>
          (JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta
            .content ?? "",
      )
      .join("");
    expect(text.length).toBe(big.length);
  }, 60_000);

  it("a reading client gets the same large stream whole", async () => {
    upstream().setNext({ kind: "answer", text: TEXT, chunks: FRAMES });
    const stream = await world.openai().chat.completions.create({
      model: "openai-main/gpt-4o-mini",
      messages: [{ role: "user", content: "a lot" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text.length).toBe(TEXT.length);
  }, 60_000);
});
