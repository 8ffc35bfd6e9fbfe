import { describe, expect, it } from "vitest";
import { ERROR_CATALOG, ERROR_CODES, GatehouseError, isErrorCode } from "../src/index.js";

describe("error catalog", () => {
  it("gives every code a status, retryability, level and type", () => {
    for (const code of ERROR_CODES) {
      const spec = ERROR_CATALOG[code];
      expect(spec.status).toBeGreaterThanOrEqual(400);
      expect(typeof spec.retryable).toBe("boolean");
      expect(["debug", "info", "warn", "error"]).toContain(spec.level);
      // OpenAI names a spent quota `insufficient_quota`, without the suffix.
      expect(spec.type).toMatch(/_error$|^request_too_large$|^insufficient_quota$/);
    }
  });

  it("maps transport failures to 503 and 504", () => {
    expect(ERROR_CATALOG.service_unavailable.status).toBe(503);
    expect(ERROR_CATALOG.service_timeout.status).toBe(504);
  });

  it("keeps the caller's message apart from internal detail", () => {
    const err = new GatehouseError("internal_error", "internal error", { detail: "db said no" });
    expect(err.message).toBe("internal error");
    expect(err.detail).toBe("db said no");
    expect(err.status).toBe(500);
  });

  it("recognises only catalog codes", () => {
    expect(isErrorCode("permission_denied")).toBe(true);
    expect(isErrorCode("toString")).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });
});
