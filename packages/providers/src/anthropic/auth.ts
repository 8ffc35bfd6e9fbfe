import { z } from "zod";
import { apiKeyCredentials, httpBaseUrl } from "../config.js";

export const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com";
export const ANTHROPIC_API_VERSION = "2023-06-01";

export const anthropicAccountConfig = z.strictObject({
  baseUrl: httpBaseUrl.nullish().transform((value) => value ?? ANTHROPIC_DEFAULT_BASE_URL),
  credentials: apiKeyCredentials,
  options: z
    .strictObject({
      /** Used when an OpenAI-dialect caller sends no max_tokens (Anthropic requires one). */
      defaultMaxTokens: z.int().positive().default(4096),
    })
    .default({ defaultMaxTokens: 4096 }),
});
export type AnthropicAccountConfig = z.output<typeof anthropicAccountConfig>;

export function anthropicAuthHeaders(config: AnthropicAccountConfig): Record<string, string> {
  return { "x-api-key": config.credentials.apiKey, "anthropic-version": ANTHROPIC_API_VERSION };
}
