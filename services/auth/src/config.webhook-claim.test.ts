import { describe, expect, it } from "vitest";
import { loadConfig, WEBHOOK_DB_TIMEOUT_MS } from "./config.js";

describe("a webhook worker's claim on a delivery", () => {
  it("outlasts an attempt and the database steps around it at every allowed AUTH_WEBHOOK_TIMEOUT_MS", () => {
    for (const timeout of [100, 1_000, 10_000, 30_000, 45_000, 59_999, 60_000]) {
      const { webhooks } = loadConfig({ AUTH_WEBHOOK_TIMEOUT_MS: String(timeout) });
      expect(webhooks.claimMs).toBeGreaterThan(timeout + 2 * WEBHOOK_DB_TIMEOUT_MS);
      // Never shorter than the 60 s it always was: a crashed worker's deliveries wait no less.
      expect(webhooks.claimMs).toBeGreaterThanOrEqual(60_000);
    }
    expect(loadConfig({}).webhooks.claimMs).toBe(60_000);
    expect(loadConfig({ AUTH_WEBHOOK_TIMEOUT_MS: "60000" }).webhooks.claimMs).toBe(90_000);
  });

  it("refuses a timeout past 60 s", () => {
    expect(() => loadConfig({ AUTH_WEBHOOK_TIMEOUT_MS: "60001" })).toThrow(/AUTH_WEBHOOK_TIMEOUT_MS/);
  });
});
