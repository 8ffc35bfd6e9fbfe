import { describe, expect, it } from "vitest";
import { chatInput, collectFrames, HELLO, HTTP_CASES, rejection, signal, useProvider } from "./cases.js";

describe.each(HTTP_CASES)("$type: upstream hangs", (c) => {
  const ctx = useProvider(c);

  it("before headers: provider_timeout after firstByteTimeoutMs, not retried", async () => {
    ctx.up.setNext({ kind: "hangBeforeHeaders" });
    const error = await rejection(
      ctx.client({ firstByteTimeoutMs: 200 }).invoke(chatInput(c, HELLO), signal()),
    );
    expect(error.code).toBe("provider_timeout");
    expect(error.status).toBe(504);
    expect(ctx.up.requests).toHaveLength(1);
  });

  it("mid-stream: the frames iterator fails with provider_timeout after idleTimeoutMs", async () => {
    ctx.up.setNext({ kind: "hangMidStream", afterFrames: 2 });
    const result = await ctx.client({ idleTimeoutMs: 200 }).invoke(chatInput(c, HELLO, true), signal());
    const error = await rejection(collectFrames(result));
    expect(error.code).toBe("provider_timeout");
  });

  it("mid-body on a JSON answer: provider_timeout", async () => {
    ctx.up.setNext({ kind: "hangMidStream" });
    const error = await rejection(ctx.client({ idleTimeoutMs: 200 }).invoke(chatInput(c, HELLO), signal()));
    expect(error.code).toBe("provider_timeout");
  });
});
