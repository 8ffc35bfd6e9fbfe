import type { OpenAIChatChunk, OpenAIChatResponse } from "../openai-compatible/wire.js";
import type { ChatAdapter, InvokeResult, ProviderType, ResponsesState, ResponsesTrace } from "../types.js";
import { openAIResponsesToOpenAIChat } from "./request.js";
import {
  newInputItemId,
  newTranslatedResponseId,
  openAIChatResponseToOpenAIResponse,
  type ResponseFrame,
  responseJson,
} from "./response.js";
import { OpenAIChunksToResponsesEvents, responsesEventToFrame } from "./stream.js";
import type { ResponsesInputItem, ResponsesRequest, ResponsesResponse } from "./wire.js";

const NO_STATE: ResponsesState = { history: [], items: new Map(), store: false };

/** This request's input as stored items: a string becomes a user message; every item gets an id. */
function inputItems(request: ResponsesRequest, items: ReadonlyMap<string, ResponsesInputItem>) {
  const input: ResponsesInputItem[] =
    typeof request.input === "string"
      ? [{ type: "message", role: "user", content: [{ type: "input_text", text: request.input }] }]
      : (request.input ?? []);
  return input.map((item) => {
    const resolved = item.type === "item_reference" ? (items.get(String(item.id)) ?? item) : item;
    return { ...resolved, type: resolved.type ?? "message", id: resolved.id ?? newInputItemId() };
  });
}

function traceOf(request: ResponsesRequest, state: ResponsesState, final: () => ResponsesResponse | null) {
  const trace: ResponsesTrace = {
    native: false,
    id: () => final()?.id,
    itemIds: () => (final()?.output ?? []).map((item) => item.id),
    record: () => {
      const response = final();
      if (response === null) return undefined;
      return { input: inputItems(request, state.items), response };
    },
  };
  return trace;
}

/**
 * A Responses call on an account without a Responses endpoint: translated to chat completions and
 * back, streaming included. Gatehouse mints the response id; `state` is what it kept of earlier ones.
 */
export async function responsesThroughChat(
  adapter: ChatAdapter,
  request: ResponsesRequest,
  account: { type: ProviderType; structuredOutput: boolean },
  state: ResponsesState | undefined,
  signal: AbortSignal,
): Promise<InvokeResult> {
  const resolved = state ?? NO_STATE;
  const chat = openAIResponsesToOpenAIChat(request, {
    accountType: account.type,
    structuredOutput: account.structuredOutput,
    history: resolved.history,
    items: resolved.items,
  });
  const frame: ResponseFrame = {
    id: newTranslatedResponseId(),
    createdAt: Math.floor(Date.now() / 1000),
    model: request.model,
    request,
    store: resolved.store,
  };
  const result = await adapter.chat(chat, signal);
  if (result.kind === "json") {
    const body = openAIChatResponseToOpenAIResponse(result.body as OpenAIChatResponse, frame, result.usage);
    return {
      kind: "json",
      status: result.status,
      body,
      bodyJson: responseJson(body),
      usage: result.usage,
      responses: traceOf(request, resolved, () => body),
    };
  }
  const translator = new OpenAIChunksToResponsesEvents(frame);
  async function* frames(chunks: AsyncIterable<OpenAIChatChunk>): AsyncGenerator<string> {
    for await (const chunk of chunks)
      for (const event of translator.push(chunk)) yield responsesEventToFrame(event);
    for (const event of translator.finishEvents()) yield responsesEventToFrame(event);
  }
  return {
    kind: "stream",
    frames: frames(result.chunks),
    usage: result.usage,
    responses: traceOf(request, resolved, () => translator.response()),
  };
}
