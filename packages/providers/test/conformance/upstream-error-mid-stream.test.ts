import { describe, expect, it } from "vitest";
import { chatInput, HELLO, HTTP_CASES, rejection, signal, useProvider } from "./cases.js";

describe.each(HTTP_CASES)("$type: error event after a 200", (c) => {
  const ctx = useProvider(c);

  it("delivers the frames before it, then the iterator throws a GatehouseError", async () => {
    ctx.up.setNext({ kind: "errorMidStream", afterFrames: 2, message: "Overloaded" });
    const result = await ctx.client().invoke(chatInput(c, HELLO, true), signal());
    if (result.kind !== "stream") throw new Error("expected a stream");
    const frames: string[] = [];
    const error = await rejection(
      (async () => {
        for await (const frame of result.frames) frames.push(frame);
      })(),
    );
    expect(error.name).toBe("GatehouseError");
    expect(error.code).toBe("provider_error");
    expect(frames.length).toBeGreaterThan(0);
    expect(frames).not.toContain("data: [DONE]\n\n");
  });

  it.runIf(c.type === "anthropic")(
    "maps an in-stream rate_limit_error to provider_rate_limited",
    async () => {
      ctx.up.setNext({ kind: "errorMidStream", errorType: "rate_limit_error", message: "slow down" });
      const result = await ctx.client().invoke(chatInput(c, HELLO, true), signal());
      if (result.kind !== "stream") throw new Error("expected a stream");
      const error = await rejection(
        (async () => {
          for await (const _ of result.frames);
        })(),
      );
      expect(error.code).toBe("provider_rate_limited");
    },
  );
});
