import { EgressPolicy, EMPTY_ALLOWLIST } from "@gatehouse/egress";
import { describe, expect, it } from "vitest";
import { accountConfigSchema, createProviderClient, PROVIDER_TYPES } from "./index.js";

const key = { apiKey: "k-123456" };

describe("account config schemas", () => {
  it("covers every provider type", () => {
    expect([...PROVIDER_TYPES].sort()).toEqual(["anthropic", "azure-openai", "gemini", "mock", "openai"]);
  });

  it("openai: baseUrl optional with the public default, must be http(s)", () => {
    const schema = accountConfigSchema("openai");
    expect(schema.parse({ credentials: key, options: {} }).baseUrl).toBe("https://api.openai.com/v1");
    expect(schema.parse({ baseUrl: "http://localhost:11434/v1", credentials: key }).baseUrl).toBe(
      "http://localhost:11434/v1",
    );
    expect(schema.safeParse({ baseUrl: "file:///etc/passwd", credentials: key }).success).toBe(false);
    expect(schema.safeParse({ baseUrl: "https://user:pw@host/v1", credentials: key }).success).toBe(false);
    expect(schema.safeParse({ credentials: {} }).success).toBe(false);
  });

  it("azure: baseUrl required, apiVersion and deployments defaulted", () => {
    const schema = accountConfigSchema("azure-openai");
    expect(schema.safeParse({ credentials: key }).success).toBe(false);
    const parsed = schema.parse({ baseUrl: "https://r.openai.azure.com", credentials: key });
    expect(parsed.options).toEqual({ apiVersion: "2024-10-21", deployments: {} });
    expect(
      schema.safeParse({
        baseUrl: "https://r.openai.azure.com",
        credentials: key,
        options: { deployments: { m: "../x" } },
      }).success,
    ).toBe(false);
  });

  it("mock: no baseUrl, no credentials", () => {
    const schema = accountConfigSchema("mock");
    expect(schema.parse({}).baseUrl).toBeNull();
    expect(schema.safeParse({ baseUrl: "https://x" }).success).toBe(false);
    expect(schema.safeParse({ credentials: { apiKey: "x" } }).success).toBe(false);
  });

  it("anthropic and gemini: apiKey required, unknown options refused", () => {
    for (const type of ["anthropic", "gemini"] as const) {
      expect(accountConfigSchema(type).safeParse({ credentials: key }).success).toBe(true);
      expect(accountConfigSchema(type).safeParse({ credentials: {} }).success).toBe(false);
      expect(accountConfigSchema(type).safeParse({ credentials: key, options: { nope: 1 } }).success).toBe(
        false,
      );
    }
  });

  it("a misconfigured account fails with provider_error naming the account, not its key", () => {
    const account = {
      name: "bad-one",
      type: "azure-openai" as const,
      baseUrl: null,
      credentials: { apiKey: "secret-zzz" },
      options: {},
    };
    expect(() =>
      createProviderClient(account, {
        egress: new EgressPolicy({ allow: EMPTY_ALLOWLIST, allowLoopback: false }),
        connectTimeoutMs: 1,
        firstByteTimeoutMs: 1,
        idleTimeoutMs: 1,
        maxRetries: 0,
      }),
    ).toThrowError(/provider account bad-one is misconfigured/);
  });
});
