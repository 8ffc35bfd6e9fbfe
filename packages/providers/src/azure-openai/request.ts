import { invalidRequest } from "../errors.js";
import type { AzureAccountConfig } from "./auth.js";

const OPERATION_PATHS = {
  chat: "chat/completions",
  embeddings: "embeddings",
  completions: "completions",
} as const;

/** The deployment a model is served by: from options, else the model name. */
export function azureDeployment(config: AzureAccountConfig, model: string): string {
  const deployment = config.options.deployments[model] ?? model;
  // The deployment lands in the URL path: refuse anything that could walk out of it.
  if (!/^[A-Za-z0-9._-]+$/.test(deployment) || deployment === "." || deployment === "..") {
    throw invalidRequest(`model "${model}" is not a valid Azure deployment name`);
  }
  return deployment;
}

/** `/openai/deployments/{deployment}/{operation}?api-version=...`; the deployment comes from options, else the model name. */
export function azureOperationPath(
  config: AzureAccountConfig,
  operation: keyof typeof OPERATION_PATHS,
  model: string,
): string {
  const deployment = azureDeployment(config, model);
  const version = encodeURIComponent(config.options.apiVersion);
  return `/openai/deployments/${deployment}/${OPERATION_PATHS[operation]}?api-version=${version}`;
}
