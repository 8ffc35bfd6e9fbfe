import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProviderClient } from "../src/index.js";
import { FAST, HELLO, rejection, signal } from "./conformance/cases.js";

const MAX_RESPONSE_BYTES = 64 * 1024;

function chunkEvent(content: string): string {
  const chunk = {
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: "m",
    choices: [{ index: 0, delta: { content }, finish_reason: null }],
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

// `/endless`: one event that never ends (no blank line), sent until the gateway hangs up.
// `/many`: many small events adding up to 8 × MAX_RESPONSE_BYTES, then [DONE].
let server: Server;
let baseUrl = "";
let endlessClosed: Promise<number>;
beforeAll(async () => {
  let closedWith: (bytes: number) => void = () => {};
  endlessClosed = new Promise((resolve) => {
    closedWith = resolve;
  });
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "text/event-stream" });
    if (req.url?.startsWith("/many/")) {
      const piece = chunkEvent("x".repeat(1_000));
      for (let sent = 0; sent < 8 * MAX_RESPONSE_BYTES; sent += piece.length) res.write(piece);
      res.end("data: [DONE]\n\n");
      return;
    }
    let sent = 0;
    res.write('data: {"id":"c","choices":[{"index":0,"delta":{"content":"');
    const filler = "a".repeat(16 * 1024);
    const timer = setInterval(() => {
      // Bounded here too: 64 MiB at most, so a gateway that never stops reading ends the test.
      if (sent > 64 * 1024 * 1024) return res.end();
      res.write(filler);
      sent += filler.length;
    }, 1);
    res.on("close", () => {
      clearInterval(timer);
      closedWith(sent);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function client(path: string) {
  return createProviderClient(
    {
      name: "bounded",
      type: "openai",
      baseUrl: `${baseUrl}${path}`,
      credentials: { apiKey: "sk-x" },
      options: {},
    },
    { ...FAST, maxRetries: 0, maxResponseBytes: MAX_RESPONSE_BYTES },
  );
}

async function drain(path: string): Promise<number> {
  const result = await client(path).invoke(
    { operation: "chat", dialect: "openai", model: "m", body: { ...HELLO, stream: true }, stream: true },
    signal(),
  );
  if (result.kind !== "stream") throw new Error("expected a stream");
  let bytes = 0;
  for await (const frame of result.frames) bytes += frame.length;
  return bytes;
}

describe("transport: a streamed event is bounded like an answer", () => {
  it("refuses an event that grows past MAX_RESPONSE_BYTES and hangs up on the upstream", async () => {
    const error = await rejection(drain("/endless"));
    expect(error.code).toBe("response_too_large");
    const sent = await endlessClosed;
    expect(sent).toBeLessThan(64 * 1024 * 1024);
  });

  it("relays any number of events whose sum is larger than that", async () => {
    expect(await drain("/many")).toBeGreaterThan(8 * MAX_RESPONSE_BYTES);
  });
});
