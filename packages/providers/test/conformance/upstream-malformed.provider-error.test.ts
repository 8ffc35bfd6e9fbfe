import { describe, expect, it } from "vitest";
import { chatInput, collectFrames, HELLO, HTTP_CASES, rejection, signal, useProvider } from "./cases.js";

describe.each(HTTP_CASES)("$type: malformed upstream body", (c) => {
  const ctx = useProvider(c);

  it("a non-JSON 200 body is provider_error", async () => {
    ctx.up.setNext({ kind: "malformed" });
    const error = await rejection(ctx.client().invoke(chatInput(c, HELLO), signal()));
    expect(error.code).toBe("provider_error");
  });

  it("a non-JSON stream event fails the stream with provider_error", async () => {
    ctx.up.setNext({ kind: "malformed" });
    const result = await ctx.client().invoke(chatInput(c, HELLO, true), signal());
    const error = await rejection(collectFrames(result));
    expect(error.code).toBe("provider_error");
  });

  it("a non-JSON error body is still mapped by status", async () => {
    ctx.up.setNext({ kind: "httpError", status: 502, body: "<html>Bad gateway</html>" });
    const error = await rejection(ctx.client({ maxRetries: 0 }).invoke(chatInput(c, HELLO), signal()));
    expect(error.code).toBe("provider_error");
  });
});
