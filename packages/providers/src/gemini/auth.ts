import { z } from "zod";
import { apiKeyCredentials, httpBaseUrl } from "../config.js";

export const GEMINI_DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com/v1beta";

export const geminiAccountConfig = z.strictObject({
  baseUrl: httpBaseUrl.nullish().transform((value) => value ?? GEMINI_DEFAULT_BASE_URL),
  credentials: apiKeyCredentials,
  options: z.strictObject({}).default({}),
});
export type GeminiAccountConfig = z.output<typeof geminiAccountConfig>;

/** The key goes in a header, never in the `?key=` query, so it cannot end up in access logs. */
export function geminiAuthHeaders(config: GeminiAccountConfig): Record<string, string> {
  return { "x-goog-api-key": config.credentials.apiKey };
}
