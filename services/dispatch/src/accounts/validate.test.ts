import { describe, expect, it } from "vitest";
import { validateAccountConfig } from "./validate.js";

const ok = { credentials: { apiKey: "k" }, options: {} };

describe("validateAccountConfig", () => {
  it("accepts http(s) base URLs and no base URL", () => {
    expect(() => validateAccountConfig("openai", { ...ok, baseUrl: null })).not.toThrow();
    expect(() =>
      validateAccountConfig("openai", { ...ok, baseUrl: "https://api.example.com/v1" }),
    ).not.toThrow();
    expect(() =>
      validateAccountConfig("anthropic", { ...ok, baseUrl: "http://127.0.0.1:9999" }),
    ).not.toThrow();
    expect(() =>
      validateAccountConfig("mock", { baseUrl: null, credentials: {}, options: {} }),
    ).not.toThrow();
  });

  it.each(["file:///etc/passwd", "ftp://x", "not a url", "https://user:pw@example.com", "https://e.com/#x"])(
    "refuses base URL %s with validation_failed",
    (baseUrl) => {
      expect(() => validateAccountConfig("openai", { ...ok, baseUrl })).toThrow(
        expect.objectContaining({ code: "validation_failed" }),
      );
    },
  );

  it("refuses empty credential values without echoing others", () => {
    expect(() =>
      validateAccountConfig("openai", { baseUrl: null, options: {}, credentials: { apiKey: "" } }),
    ).toThrow(/credentials.apiKey/);
  });

  it("applies the provider's own schema: required key, required base URL, known options", () => {
    const refused = (type: Parameters<typeof validateAccountConfig>[0], input: object, message: RegExp) =>
      expect(() =>
        validateAccountConfig(type, { baseUrl: null, credentials: {}, options: {}, ...input }),
      ).toThrow(
        expect.objectContaining({ code: "validation_failed", message: expect.stringMatching(message) }),
      );
    refused("openai", { credentials: { api_key: "sk-secret-value" } }, /api_key/);
    refused("openai", { credentials: { apiKey: "sk-secret-value", extra: "x" } }, /extra/);
    refused("azure-openai", ok, /baseUrl/);
    refused(
      "azure-openai",
      { ...ok, baseUrl: "https://r.openai.azure.com", options: { apiVersion: "v1" } },
      /apiVersion/,
    );
    refused("mock", { baseUrl: "http://127.0.0.1:9999" }, /baseUrl/);
    refused("gemini", { ...ok, options: { region: "eu" } }, /options/);
    try {
      validateAccountConfig("openai", {
        baseUrl: null,
        credentials: { apiKey: "sk-secret-value", x: "y" },
        options: {},
      });
    } catch (err) {
      expect(String((err as Error).message)).not.toContain("sk-secret-value");
    }
  });

  it("does not re-check stored credentials on an update that leaves them out, and allows none yet", () => {
    expect(() =>
      validateAccountConfig("openai", { baseUrl: null, credentials: {}, options: {} }),
    ).not.toThrow();
    expect(() =>
      validateAccountConfig("openai", {
        baseUrl: "https://api.example.com/v1",
        credentials: undefined,
        options: {},
      }),
    ).not.toThrow();
    expect(() =>
      validateAccountConfig("openai", { baseUrl: null, credentials: undefined, options: { nope: 1 } }),
    ).toThrow(/options/);
  });
});
