import { describe, expect, it } from "vitest";
import {
  parseRetryAfterMs,
  sanitiseProviderMessage,
  upstreamHttpError,
  upstreamStreamError,
} from "./errors.js";
import { parseJsonEvent } from "./transport.js";

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

  it("keeps prompt text out of detail (logs), leaving the status, error identifiers, request id and size", () => {
    const prompt = "the pilot quince-marble-42 said";
    const body = JSON.stringify({
      error: { message: `'${prompt}' is too long`, type: "server_error", code: "context too long" },
    });
    const error = upstreamHttpError(500, { "x-request-id": "req_abc123" }, body, ctx);
    expect(error.detail).not.toContain("quince-marble-42");
    expect(error.detail).toBe(
      `upstream status 500; type server_error; request id req_abc123; body ${Buffer.byteLength(body)} bytes`,
    );
    const gemini = '{"error":{"code":400,"message":"quince-marble-42 is bad","status":"INVALID_ARGUMENT"}}';
    const invalid = upstreamHttpError(400, {}, gemini, ctx);
    expect(invalid.detail).toBe(
      `upstream status 400; code 400; status INVALID_ARGUMENT; body ${gemini.length} bytes`,
    );
    expect(upstreamHttpError(502, {}, "quince-marble-42 <html>", ctx).detail).toBe(
      "upstream status 502; body 23 bytes",
    );
  });

  it("still gives the caller their own provider's message on a 4xx (it is about their request)", () => {
    const error = upstreamHttpError(400, {}, '{"m":"quince-marble-42 is not allowed"}', ctx);
    expect(error.message).toBe("quince-marble-42 is not allowed");
    expect(error.detail).not.toContain("quince-marble-42");
  });

  it("keeps a mid-stream error's message for the caller and out of detail", () => {
    const error = upstreamStreamError("invalid_request_error", "quince-marble-42 is not allowed", ctx);
    expect(error.message).toBe("quince-marble-42 is not allowed");
    expect(error.detail).toBe("mid-stream error invalid_request_error; message 31 chars");
    const odd = upstreamStreamError("quince marble 42", "x", ctx);
    expect(odd.detail).toBe("mid-stream error unknown; message 1 chars");
  });

  it("keeps an unparseable answer's text out of the error it becomes (JSON.parse quotes its input)", () => {
    let caught: unknown;
    try {
      parseJsonEvent('{"delta": quince-marble-42 was here');
    } catch (error) {
      caught = error;
    }
    const error = caught as { message: string; detail?: string; cause?: unknown };
    expect(error.detail).toBe("unparseable stream event (35 chars)");
    const cause = error.cause as Error | undefined;
    expect(`${error.message} ${error.detail} ${cause?.message ?? ""} ${cause?.stack ?? ""}`).not.toContain(
      "quince",
    );
  });
});
