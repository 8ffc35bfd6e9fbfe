import { describe, expect, it } from "vitest";
import { NOT_CANCELLABLE } from "../../src/index.js";
import { chatInput, HELLO, HTTP_CASES, rejection, signal, useProvider } from "./cases.js";

describe.each(HTTP_CASES)("$type: upstream 5xx", (c) => {
  const ctx = useProvider(c);

  it("is retried maxRetries times, then provider_error", async () => {
    ctx.up.setNext(...[500, 502, 503, 500].map((status) => ({ kind: "httpError" as const, status })));
    const error = await rejection(ctx.client({ maxRetries: 2 }).invoke(chatInput(c, HELLO), signal()));
    expect(error.code).toBe("provider_error");
    expect(error.status).toBe(502);
    expect(ctx.up.requests).toHaveLength(3);
  });

  it("caps retries at 2 whatever maxRetries says", async () => {
    ctx.up.setNext(...Array.from({ length: 6 }, () => ({ kind: "httpError" as const, status: 503 })));
    await rejection(ctx.client({ maxRetries: 9 }).invoke(chatInput(c, HELLO), signal()));
    expect(ctx.up.requests).toHaveLength(3);
  });

  it("is not retried with maxRetries 0", async () => {
    ctx.up.setNext({ kind: "httpError", status: 500 });
    await rejection(ctx.client({ maxRetries: 0 }).invoke(chatInput(c, HELLO), signal()));
    expect(ctx.up.requests).toHaveLength(1);
  });

  it("is retried the same way for a call nobody can cancel (dispatch's non-streaming calls)", async () => {
    ctx.up.setNext({ kind: "httpError", status: 503 }, { kind: "httpError", status: 502 });
    const result = await ctx.client({ maxRetries: 2 }).invoke(chatInput(c, HELLO), NOT_CANCELLABLE);
    expect(result.kind).toBe("json");
    expect(ctx.up.requests).toHaveLength(3);
    expect(NOT_CANCELLABLE.aborted).toBe(false);
  });

  it("succeeds when a retry succeeds, streaming included", async () => {
    ctx.up.setNext({ kind: "httpError", status: 503 });
    const result = await ctx.client().invoke(chatInput(c, HELLO, true), signal());
    expect(result.kind).toBe("stream");
    if (result.kind === "stream") for await (const _ of result.frames);
    expect(ctx.up.requests).toHaveLength(2);
  });
});
