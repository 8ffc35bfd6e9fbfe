import { createOpenAICompatibleAdapter } from "../openai-compatible/adapter.js";
import { openAIErrorMessage } from "../openai-compatible/errors.js";
import { Transport } from "../transport.js";
import type { ClientOptions, ProviderAccount, ProviderAdapter } from "../types.js";
import { type AzureAccountConfig, azureAuthHeaders } from "./auth.js";
import { azureDeployment, azureOperationPath } from "./request.js";

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
      // The v1 Responses API: one path for every deployment, which is named as the body's model.
      responses: { basePath: "/openai/v1/responses", model: (model) => azureDeployment(config, model) },
    },
    errors,
  );
}
