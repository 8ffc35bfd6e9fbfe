import { createOpenAICompatibleAdapter } from "../openai-compatible/adapter.js";
import { openAIErrorMessage } from "../openai-compatible/errors.js";
import { Transport } from "../transport.js";
import type { ClientOptions, ProviderAccount, ProviderAdapter } from "../types.js";
import { type OpenAIAccountConfig, openAIAuthHeaders } from "./auth.js";

const PATHS = { chat: "/chat/completions", embeddings: "/embeddings", completions: "/completions" } as const;

export function createOpenAIAdapter(
  account: ProviderAccount,
  config: OpenAIAccountConfig,
  options: ClientOptions,
): ProviderAdapter {
  const errors = {
    accountName: account.name,
    secrets: [config.credentials.apiKey],
    extractMessage: openAIErrorMessage,
  };
  return createOpenAICompatibleAdapter(
    new Transport(config.baseUrl, options, errors),
    {
      path: (operation) => PATHS[operation],
      headers: openAIAuthHeaders(config),
      accountName: account.name,
      ...(config.options.responsesApi === "native"
        ? { responses: { basePath: "/responses", model: (model: string) => model } }
        : {}),
    },
    errors,
  );
}
