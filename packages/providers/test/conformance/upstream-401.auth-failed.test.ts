import { describe, expect, it } from "vitest";
import { chatInput, HELLO, HTTP_CASES, rejection, signal, useProvider } from "./cases.js";

describe.each(HTTP_CASES)("$type: upstream rejects the provider key", (c) => {
  const ctx = useProvider(c);

  it("is provider_auth_failed, blames the account not the caller, and leaks neither key nor URL", async () => {
    const wrongKey = "sk-wrong-key-that-must-not-leak-42";
    const error = await rejection(ctx.client({}, wrongKey).invoke(chatInput(c, HELLO), signal()));
    expect(error.code).toBe("provider_auth_failed");
    expect(error.status).toBe(502);
    expect(error.message).toBe(
      `the provider rejected Gatehouse's credentials for account ${c.account(null).name}; your Gatehouse key is fine`,
    );
    for (const text of [error.message, error.detail ?? ""]) {
      expect(text).not.toContain(wrongKey);
      expect(text).not.toContain(ctx.up.url);
    }
    expect(ctx.up.requests).toHaveLength(1);
  });

  it("maps a scripted 403 the same way", async () => {
    ctx.up.setNext({ kind: "httpError", status: 403 });
    const error = await rejection(ctx.client().invoke(chatInput(c, HELLO), signal()));
    expect(error.code).toBe("provider_auth_failed");
  });
});
