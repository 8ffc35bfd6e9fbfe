import { openAIBodies, unknownArgumentRefusal } from "./openai.js";
import { type MockUpstream, type StartOptions, startMockUpstream, type WireFormat } from "./server.js";

/**
 * Azure OpenAI (https://learn.microsoft.com/azure/ai-services/openai/reference):
 * `/openai/deployments/{deployment}/{operation}?api-version=...` with an `api-key` header.
 * The recorded path tells tests which deployment was used; `model` in answers is the deployment.
 */
const PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings|completions)$/;
const OPERATIONS = {
  "chat/completions": "chat",
  embeddings: "embeddings",
  completions: "completions",
} as const;

function azureError(status: number, message: string | undefined) {
  return { error: { code: String(status), message: message ?? `Request failed with status ${status}.` } };
}

/** The v1 Responses API: one path for every deployment, named as the body's model. */
const RESPONSES_PATH = "/openai/v1/responses";

export function createAzureWire(): WireFormat {
  const bodies = openAIBodies(RESPONSES_PATH);
  return {
    basePath: "",
    route(method, url, body) {
      if (method === "POST" && url.pathname === RESPONSES_PATH) {
        const params = (body ?? {}) as Record<string, unknown>;
        return { operation: "responses", stream: params.stream === true, model: String(params.model ?? "") };
      }
      const match = PATH.exec(url.pathname);
      if (method !== "POST" || match?.[1] === undefined || match[2] === undefined) return null;
      const params = (body ?? {}) as Record<string, unknown>;
      return {
        operation: OPERATIONS[match[2] as keyof typeof OPERATIONS],
        stream: params.stream === true,
        model: decodeURIComponent(match[1]),
      };
    },
    checkRequest(headers, url, apiKey, body) {
      if (headers["api-key"] !== apiKey) {
        return {
          status: 401,
          body: azureError(
            401,
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
          ),
        };
      }
      if (!url.searchParams.get("api-version") && !url.pathname.startsWith(RESPONSES_PATH)) {
        return { status: 404, body: azureError(404, "Resource not found") };
      }
      return unknownArgumentRefusal(url, body);
    },
    ...bodies,
    errorBody: (status, message) =>
      status === 401 || status === 404 ? azureError(status, message) : bodies.errorBody(status, message),
  };
}

/** An Azure OpenAI resource endpoint at `{url}`. */
export function startAzureUpstream(options?: StartOptions): Promise<MockUpstream> {
  return startMockUpstream(createAzureWire(), options);
}
