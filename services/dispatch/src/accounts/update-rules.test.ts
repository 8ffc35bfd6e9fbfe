import { describe, expect, it } from "vitest";
import { adminOnlyChanges, requireCredentialsForNewDestination } from "./update-rules.js";

const stored = {
  type: "azure-openai",
  baseUrl: "https://corp.openai.azure.com",
  options: { apiVersion: "2024-10-21", deployments: { "gpt-4o": "prod", embed: "e" } },
  credentialsSet: true,
};

describe("which changes are a tenant admin's", () => {
  it("counts only fields whose value differs; credentials always count", () => {
    expect(adminOnlyChanges({}, stored)).toEqual([]);
    expect(
      adminOnlyChanges(
        {
          type: "azure-openai",
          baseUrl: stored.baseUrl,
          // The same options in another key order, as a client may send back what it read.
          options: { deployments: { embed: "e", "gpt-4o": "prod" }, apiVersion: "2024-10-21" },
        },
        stored,
      ),
    ).toEqual([]);
    expect(adminOnlyChanges({ baseUrl: null }, stored)).toEqual(["baseUrl"]);
    expect(adminOnlyChanges({ options: { apiVersion: "2025-01-01" } }, stored)).toEqual(["options"]);
    expect(adminOnlyChanges({ credentials: {} }, stored)).toEqual(["credentials"]);
    expect(adminOnlyChanges({ type: "openai", baseUrl: "https://x.example" }, stored)).toEqual([
      "type",
      "baseUrl",
    ]);
  });
});

describe("credentials bound to their destination", () => {
  it("must be given again when base URL or type changes, unless the account has none", () => {
    expect(() => requireCredentialsForNewDestination({ baseUrl: "https://evil.example" }, stored)).toThrow(
      /credentials must be given again for the new base_url/,
    );
    expect(() => requireCredentialsForNewDestination({ baseUrl: null }, stored)).toThrow(/new base_url/);
    expect(() => requireCredentialsForNewDestination({ type: "openai" }, stored)).toThrow(/new type/);
    expect(() =>
      requireCredentialsForNewDestination(
        { baseUrl: "https://new.example", credentials: { apiKey: "k" } },
        stored,
      ),
    ).not.toThrow();
    expect(() =>
      requireCredentialsForNewDestination({ baseUrl: "https://new.example", credentials: {} }, stored),
    ).not.toThrow();
    expect(() =>
      requireCredentialsForNewDestination(
        { baseUrl: "http://ollama:11434/v1" },
        { ...stored, credentialsSet: false },
      ),
    ).not.toThrow();
    expect(() => requireCredentialsForNewDestination({ options: { apiVersion: "x" } }, stored)).not.toThrow();
  });
});
