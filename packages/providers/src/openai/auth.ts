import { z } from "zod";
import { apiKeyCredentials, httpBaseUrl } from "../config.js";

export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

export const openAIAccountConfig = z.strictObject({
  /** Any OpenAI-compatible server (vLLM, Ollama, Groq, ...) by its `/v1` base URL. */
  baseUrl: httpBaseUrl.nullish().transform((value) => value ?? OPENAI_DEFAULT_BASE_URL),
  credentials: apiKeyCredentials,
  options: z
    .strictObject({
      organization: z.string().min(1).optional(),
      project: z.string().min(1).optional(),
      /**
       * `native`: `/v1/responses` goes to the server's own Responses API (OpenAI, and servers that have
       * one). `translated`: Gatehouse answers it through the server's chat completions.
       */
      responsesApi: z.enum(["native", "translated"]).default("native"),
    })
    .default({ responsesApi: "native" }),
});
export type OpenAIAccountConfig = z.output<typeof openAIAccountConfig>;

export function openAIAuthHeaders(config: OpenAIAccountConfig): Record<string, string> {
  const headers: Record<string, string> = { authorization: `Bearer ${config.credentials.apiKey}` };
  if (config.options.organization) headers["openai-organization"] = config.options.organization;
  if (config.options.project) headers["openai-project"] = config.options.project;
  return headers;
}
