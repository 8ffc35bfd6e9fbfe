import { describe, expect, it } from "vitest";
import { azureAccountConfig } from "./auth.js";
import { azureOperationPath } from "./request.js";

const config = azureAccountConfig.parse({
  baseUrl: "https://res.openai.azure.com",
  credentials: { apiKey: "k" },
  options: { apiVersion: "2024-10-21", deployments: { "gpt-4o": "prod-4o" } },
});

describe("azureOperationPath", () => {
  it("uses the mapped deployment, else the model name, with api-version", () => {
    expect(azureOperationPath(config, "chat", "gpt-4o")).toBe(
      "/openai/deployments/prod-4o/chat/completions?api-version=2024-10-21",
    );
    expect(azureOperationPath(config, "embeddings", "text-embedding-3-small")).toBe(
      "/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21",
    );
  });

  it("refuses model names that would leave the deployment path", () => {
    for (const model of ["..", "a/b", "x?api-version=1", "a%2Fb"]) {
      expect(() => azureOperationPath(config, "chat", model)).toThrowError(
        expect.objectContaining({ code: "invalid_request" }),
      );
    }
  });
});
