import { GatehouseError, MODEL_ID_MAX, type Operation } from "@gatehouse/contracts";

/**
 * A cheap shape check at the edge: enough to refuse nonsense with a clear 400 in the caller's
 * dialect before anything crosses the bus. The provider adapters validate the rest.
 */
export interface InferenceShape {
  model: string;
  stream: boolean;
  includeUsage: boolean;
}

function fail(message: string, param?: string): never {
  throw new GatehouseError("invalid_request", param ? `${message} (${param})` : message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function checkShape(body: unknown, operation: Operation | "messages"): InferenceShape {
  if (!isObject(body)) fail("request body must be a JSON object");
  const model = body.model;
  if (typeof model !== "string" || model.length === 0)
    fail("'model' is required and must be a string", "model");
  if (model.length > MODEL_ID_MAX) fail("'model' is too long", "model");
  const stream = body.stream;
  if (stream !== undefined && stream !== null && typeof stream !== "boolean")
    fail("'stream' must be a boolean", "stream");
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions)) {
    fail("'stream_options' must be an object", "stream_options");
  }
  switch (operation) {
    case "chat":
    case "messages": {
      const messages = body.messages;
      if (!Array.isArray(messages) || messages.length === 0)
        fail("'messages' must be a non-empty array", "messages");
      for (const m of messages) if (!isObject(m)) fail("every message must be an object", "messages");
      if (operation === "messages") {
        const maxTokens = body.max_tokens;
        if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1) {
          fail("'max_tokens' must be a positive integer", "max_tokens");
        }
      }
      break;
    }
    case "embeddings": {
      const input = body.input;
      const ok = typeof input === "string" || (Array.isArray(input) && input.length > 0);
      if (!ok) fail("'input' must be a string or a non-empty array", "input");
      if (stream === true) fail("embeddings cannot stream", "stream");
      break;
    }
    case "responses": {
      const input = body.input;
      if (input !== undefined && typeof input !== "string" && !Array.isArray(input))
        fail("'input' must be a string or an array of items", "input");
      if (Array.isArray(input))
        for (const item of input) if (!isObject(item)) fail("every input item must be an object", "input");
      break;
    }
    case "completions": {
      const prompt = body.prompt;
      const ok = typeof prompt === "string" || (Array.isArray(prompt) && prompt.length > 0);
      if (!ok) fail("'prompt' must be a string or a non-empty array", "prompt");
      break;
    }
  }
  return {
    model,
    stream: stream === true,
    includeUsage: isObject(streamOptions) && streamOptions.include_usage === true,
  };
}
