import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadConfig, parseMasterKey } from "./config.js";

describe("dispatch config", () => {
  it("refuses to start without a master key outside local mode", () => {
    expect(() => loadConfig({})).toThrow(/GATEHOUSE_MASTER_KEY: is required/);
  });

  it("accepts no key in local mode", () => {
    const c = loadConfig({ GATEHOUSE_LOCAL_MODE: "true" });
    expect(c.masterKey).toBeUndefined();
    expect(c.localMode).toBe(true);
  });

  it("accepts 32 bytes as hex or base64 and refuses other lengths without echoing the value", () => {
    const key = randomBytes(32);
    expect(loadConfig({ GATEHOUSE_MASTER_KEY: key.toString("hex") }).masterKey).toEqual(key);
    expect(loadConfig({ GATEHOUSE_MASTER_KEY: key.toString("base64") }).masterKey).toEqual(key);
    expect(parseMasterKey(key.toString("base64url"))).toEqual(key);
    const short = randomBytes(16).toString("hex");
    expect(() => loadConfig({ GATEHOUSE_MASTER_KEY: short })).toThrow(/32 bytes/);
    try {
      loadConfig({ GATEHOUSE_MASTER_KEY: short });
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });

  it("batches usage for a second by default and bounds the setting", () => {
    expect(loadConfig({ GATEHOUSE_LOCAL_MODE: "true" }).usageFlushMs).toBe(1_000);
    expect(loadConfig({ GATEHOUSE_LOCAL_MODE: "true", USAGE_FLUSH_MS: "50" }).usageFlushMs).toBe(50);
    expect(() => loadConfig({ GATEHOUSE_LOCAL_MODE: "true", USAGE_FLUSH_MS: "0" })).toThrow(/USAGE_FLUSH_MS/);
    expect(() => loadConfig({ GATEHOUSE_LOCAL_MODE: "true", USAGE_FLUSH_MS: "600000" })).toThrow(
      /USAGE_FLUSH_MS/,
    );
  });

  it("stops usage queries before ingress's admin timeout: 10 s, or ADMIN_TIMEOUT_MS less a margin", () => {
    const local = { GATEHOUSE_LOCAL_MODE: "true" };
    expect(loadConfig(local).usageQueryTimeoutMs).toBe(10_000);
    expect(loadConfig({ ...local, ADMIN_TIMEOUT_MS: "60000" }).usageQueryTimeoutMs).toBe(10_000);
    expect(loadConfig({ ...local, ADMIN_TIMEOUT_MS: "3000" }).usageQueryTimeoutMs).toBe(2_700);
    expect(loadConfig({ ...local, ADMIN_TIMEOUT_MS: "8000" }).usageQueryTimeoutMs).toBe(7_500);
    expect(loadConfig({ ...local, ADMIN_TIMEOUT_MS: "100" }).usageQueryTimeoutMs).toBe(90);
  });

  it("refuses private egress by default, reads the allowlist, and lets local mode reach loopback", () => {
    const key = randomBytes(32).toString("hex");
    expect(loadConfig({ GATEHOUSE_MASTER_KEY: key }).egress).toEqual({
      allow: { networks: [], hosts: [], suffixes: [] },
      allowLoopback: false,
    });
    const allowed = loadConfig({
      GATEHOUSE_MASTER_KEY: key,
      GATEHOUSE_EGRESS_ALLOW: "10.0.0.0/8,ollama.internal",
    });
    expect(allowed.egress.allow).toEqual({
      networks: [{ address: "10.0.0.0", prefix: 8 }],
      hosts: ["ollama.internal"],
      suffixes: [],
    });
    expect(loadConfig({ GATEHOUSE_LOCAL_MODE: "true" }).egress.allowLoopback).toBe(true);
    expect(() => loadConfig({ GATEHOUSE_MASTER_KEY: key, GATEHOUSE_EGRESS_ALLOW: "10.0.0.0/40" })).toThrow(
      /GATEHOUSE_EGRESS_ALLOW: "10\.0\.0\.0\/40": the prefix length/,
    );
  });
});
