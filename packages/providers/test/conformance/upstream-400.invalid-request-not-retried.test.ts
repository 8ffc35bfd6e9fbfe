import { describe, expect, it } from "vitest";
import { chatInput, HELLO, HTTP_CASES, rejection, signal, useProvider } from "./cases.js";

describe.each(HTTP_CASES)("$type: upstream 4xx", (c) => {
  const ctx = useProvider(c);

  it.each([400, 404, 422])(
    "%i is provider_invalid_request with the provider's own message, never retried",
    async (status) => {
      ctx.up.setNext({ kind: "httpError", status, message: "max_tokens: must be at most 8192" });
      const error = await rejection(ctx.client({ maxRetries: 2 }).invoke(chatInput(c, HELLO), signal()));
      expect(error.code).toBe("provider_invalid_request");
      expect(error.status).toBe(400);
      expect(error.message).toBe("max_tokens: must be at most 8192");
      expect(ctx.up.requests).toHaveLength(1);
    },
  );

  it("sanitises the provider message: no URL, no key-looking strings, at most 1 KB", async () => {
    const message = `bad key sk-abcdefghijklmnop12345 see https://example.com/x ${"é".repeat(2000)}`;
    ctx.up.setNext({ kind: "httpError", status: 400, message });
    const error = await rejection(ctx.client().invoke(chatInput(c, HELLO), signal()));
    expect(error.message).not.toContain("sk-abcdefghijklmnop12345");
    expect(error.message).not.toContain("https://");
    expect(Buffer.byteLength(error.message)).toBeLessThanOrEqual(1024);
  });
});
