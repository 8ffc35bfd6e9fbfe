import { createOpenAICompatibleAdapter } from "../openai-compatible/adapter.js";
import { openAIErrorMessage } from "../openai-compatible/errors.js";
import { Transport } from "../transport.js";
import type { ClientOptions, ProviderAccount, ProviderAdapter } from "../types.js";
import { type AzureAccountConfig, azureAuthHeaders } from "./auth.js";
import { azureOperationPath } from "./request.js";

export function createAzureOpenAIAdapter(
  account: ProviderAccount,
  config: AzureAccountConfig,
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
      path: (operation, model) => azureOperationPath(config, operation, model),
      headers: azureAuthHeaders(config),
      accountName: account.name,
    },
    errors,
  );
}
