import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";

describe("ingress config", () => {
  it("reads TRUST_PROXY as a boolean or as the proxies to trust", () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "true" }).trustProxy).toBe(true);
    expect(loadConfig({ TRUST_PROXY: "0" }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: "uniquelocal, 203.0.113.0/24,::1,fd00::/8" }).trustProxy).toEqual([
      "uniquelocal",
      "203.0.113.0/24",
      "::1",
      "fd00::/8",
    ]);
    for (const bad of ["everyone", "10.0.0.0/33", "10.0.0.1/8/8", "2", "fd00::/129"]) {
      expect(() => loadConfig({ TRUST_PROXY: bad }), bad).toThrow(/TRUST_PROXY/);
    }
  });

  it("bounds the failed-authentication limiter and the caches", () => {
    const c = loadConfig({});
    expect(c.failedAuth).toEqual({ burst: 50, refillPerMinute: 60, maxAddresses: 100_000 });
    expect([c.keyCacheMaxKeys, c.keyCacheMaxUnknown, c.catalogCacheMaxModels]).toEqual([
      10_000, 10_000, 100_000,
    ]);
    expect(() => loadConfig({ FAILED_AUTH_BURST: "0" })).toThrow(/FAILED_AUTH_BURST/);
    expect(() => loadConfig({ CATALOG_CACHE_MAX_MODELS: "1000" })).toThrow(/CATALOG_CACHE_MAX_MODELS/);
  });

  it("reads the base environment every process shares, with a longer shutdown for streams", () => {
    const c = loadConfig({ LOG_LEVEL: "warn", GATEHOUSE_PREFIX: "tenant-a", NATS_TOKEN: "t" });
    expect([c.logLevel, c.prefix, c.natsUrl, c.otlpEndpoint]).toEqual([
      "warn",
      "tenant-a",
      "nats://127.0.0.1:4222",
      undefined,
    ]);
    expect(c.natsSecurity.auth).toEqual({ method: "token", token: "t" });
    expect(c.shutdownTimeoutMs).toBe(15_000);
    expect(() => loadConfig({ GATEHOUSE_PREFIX: "a.b" })).toThrow(/GATEHOUSE_PREFIX/);
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_MS: "0" })).toThrow(/SHUTDOWN_TIMEOUT_MS/);
  });
});
