import { describe, expect, it } from "vitest";
import { validateAccountConfig } from "./validate.js";

const ok = { credentials: { apiKey: "k" }, options: {} };

describe("validateAccountConfig", () => {
  it("accepts http(s) base URLs and no base URL", () => {
    expect(() => validateAccountConfig("openai", { ...ok, baseUrl: null })).not.toThrow();
    expect(() =>
      validateAccountConfig("openai", { ...ok, baseUrl: "https://api.example.com/v1" }),
    ).not.toThrow();
    expect(() => validateAccountConfig("mock", { ...ok, baseUrl: "http://127.0.0.1:9999" })).not.toThrow();
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
});
