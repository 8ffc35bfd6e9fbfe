import { describe, expect, it } from "vitest";
import { chatInput, HELLO, HTTP_CASES, rejection, signal, useProvider } from "./cases.js";

describe.each(HTTP_CASES)("$type: upstream 429", (c) => {
  const ctx = useProvider(c);

  it("is provider_rate_limited with retryAfterSeconds from Retry-After", async () => {
    ctx.up.setNext({ kind: "httpError", status: 429, retryAfter: "7" });
    const error = await rejection(ctx.client({ maxRetries: 0 }).invoke(chatInput(c, HELLO), signal()));
    expect(error.code).toBe("provider_rate_limited");
    expect(error.status).toBe(429);
    expect(error.retryAfterSeconds).toBe(7);
  });

  it("is retried at most maxRetries times, then surfaces", async () => {
    ctx.up.setNext(
      ...Array.from({ length: 5 }, () => ({ kind: "httpError" as const, status: 429, retryAfter: "0" })),
    );
    const error = await rejection(ctx.client({ maxRetries: 2 }).invoke(chatInput(c, HELLO), signal()));
    expect(error.code).toBe("provider_rate_limited");
    expect(ctx.up.requests).toHaveLength(3);
  });

  it("recovers when a retry succeeds", async () => {
    ctx.up.setNext({ kind: "httpError", status: 429, retryAfter: "0" });
    const result = await ctx.client({ maxRetries: 1 }).invoke(chatInput(c, HELLO), signal());
    expect(result.kind).toBe("json");
    expect(ctx.up.requests).toHaveLength(2);
  });

  it("does not wait for a Retry-After longer than maxRetryWaitMs", async () => {
    ctx.up.setNext({ kind: "httpError", status: 429, retryAfter: "120" });
    const error = await rejection(
      ctx.client({ maxRetries: 2, maxRetryWaitMs: 1_000 }).invoke(chatInput(c, HELLO), signal()),
    );
    expect(error.retryAfterSeconds).toBe(120);
    expect(ctx.up.requests).toHaveLength(1);
  });
});
