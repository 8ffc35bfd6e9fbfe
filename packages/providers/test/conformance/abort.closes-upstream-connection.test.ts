import { describe, expect, it } from "vitest";
import { chatInput, HELLO, HTTP_CASES, rejection, useProvider } from "./cases.js";

describe.each(HTTP_CASES)("$type: caller aborts", (c) => {
  const ctx = useProvider(c);

  it("mid-stream: the iterator stops and the upstream sees its connection closed", async () => {
    ctx.up.setNext({ kind: "answer", chunks: 200, chunkDelayMs: 20 });
    const controller = new AbortController();
    const result = await ctx.client().invoke(chatInput(c, HELLO, true), controller.signal);
    if (result.kind !== "stream") throw new Error("expected a stream");
    const closed = ctx.up.waitForConnectionClose();
    let frames = 0;
    const error = await rejection(
      (async () => {
        for await (const _ of result.frames) {
          frames++;
          if (frames === 3) controller.abort();
        }
      })(),
    );
    expect((error as unknown as Error).name).toBe("AbortError");
    await closed;
    expect(ctx.up.connectionsClosed).toBeGreaterThanOrEqual(1);
    expect(frames).toBeLessThan(20);
  });

  it("before headers: the call rejects at once and the upstream connection closes", async () => {
    ctx.up.setNext({ kind: "hangBeforeHeaders" });
    const controller = new AbortController();
    const pending = ctx.client({ firstByteTimeoutMs: 10_000 }).invoke(chatInput(c, HELLO), controller.signal);
    const closed = ctx.up.waitForConnectionClose();
    setTimeout(() => controller.abort(), 100);
    const error = await rejection(pending);
    expect((error as unknown as Error).name).toBe("AbortError");
    await closed;
  });

  it("breaking out of the frames loop also closes the upstream connection", async () => {
    ctx.up.setNext({ kind: "answer", chunks: 200, chunkDelayMs: 20 });
    const result = await ctx.client().invoke(chatInput(c, HELLO, true), new AbortController().signal);
    if (result.kind !== "stream") throw new Error("expected a stream");
    const closed = ctx.up.waitForConnectionClose();
    for await (const _ of result.frames) break;
    await closed;
  });
});
