import { z } from "zod";
import { apiKeyCredentials, httpBaseUrl } from "../config.js";

export const AZURE_DEFAULT_API_VERSION = "2024-10-21";

export const azureAccountConfig = z.strictObject({
  /** The resource endpoint, e.g. https://my-resource.openai.azure.com */
  baseUrl: httpBaseUrl,
  credentials: apiKeyCredentials,
  options: z
    .strictObject({
      apiVersion: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}(-preview)?$/, "apiVersion looks like 2024-10-21")
        .default(AZURE_DEFAULT_API_VERSION),
      /** model name as callers write it → Azure deployment name; unmapped models use their own name. */
      deployments: z.record(z.string().min(1), z.string().regex(/^[A-Za-z0-9._-]+$/)).default({}),
    })
    .default({ apiVersion: AZURE_DEFAULT_API_VERSION, deployments: {} }),
});
export type AzureAccountConfig = z.output<typeof azureAccountConfig>;

export function azureAuthHeaders(config: AzureAccountConfig): Record<string, string> {
  return { "api-key": config.credentials.apiKey };
}
