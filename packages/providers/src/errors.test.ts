import { describe, expect, it } from "vitest";
import { parseRetryAfterMs, sanitiseProviderMessage, upstreamHttpError } from "./errors.js";

const ctx = {
  accountName: "acme",
  secrets: ["super-secret-key"],
  extractMessage: (b: unknown) => (b as { m?: string }).m,
};

describe("upstream error mapping", () => {
  it("redacts the account's own key, key-shaped strings and URLs", () => {
    const out = sanitiseProviderMessage(
      "key super-secret-key or sk-ant-api03-abcdefghijkl at https://api.x.com/v1?k=1",
      ["super-secret-key"],
    );
    expect(out).toBe("key [redacted] or [redacted] at [url]");
  });

  it("truncates to 1 KB without splitting a character", () => {
    const out = sanitiseProviderMessage("€".repeat(1000), []);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(1024);
    expect(out).not.toContain("\uFFFD");
  });

  it("reads Retry-After as seconds, HTTP date or retry-after-ms", () => {
    expect(parseRetryAfterMs({ "retry-after": "3" })).toBe(3000);
    expect(parseRetryAfterMs({ "retry-after-ms": "250", "retry-after": "3" })).toBe(250);
    const inTwoSeconds = new Date(Date.now() + 2500).toUTCString();
    expect(parseRetryAfterMs({ "retry-after": inTwoSeconds })).toBeGreaterThan(1000);
    expect(parseRetryAfterMs({ "retry-after": "soon" })).toBeUndefined();
  });

  it("maps statuses to catalog codes", () => {
    expect(upstreamHttpError(401, {}, "", ctx).code).toBe("provider_auth_failed");
    expect(upstreamHttpError(403, {}, "", ctx).code).toBe("provider_auth_failed");
    const limited = upstreamHttpError(429, { "retry-after": "12" }, "", ctx);
    expect([limited.code, limited.retryAfterSeconds]).toEqual(["provider_rate_limited", 12]);
    const bad = upstreamHttpError(422, {}, '{"m":"field x is wrong"}', ctx);
    expect([bad.code, bad.message]).toEqual(["provider_invalid_request", "field x is wrong"]);
    expect(upstreamHttpError(404, {}, "not json", ctx).message).toBe(
      "the provider refused the request (status 404)",
    );
    expect(upstreamHttpError(503, {}, "", ctx).code).toBe("provider_error");
  });

  it("never puts the key in detail", () => {
    const error = upstreamHttpError(400, {}, '{"m":"bad key super-secret-key"}', ctx);
    expect(`${error.message} ${error.detail}`).not.toContain("super-secret-key");
  });
});
