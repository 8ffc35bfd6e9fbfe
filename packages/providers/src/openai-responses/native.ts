import { GatehouseError } from "@gatehouse/contracts";
import { type ErrorContext, invalidRequest, malformedUpstream, upstreamStreamError } from "../errors.js";
import type { SseEvent } from "../sse.js";
import { parseJsonEvent, readJson, readSse, type Transport } from "../transport.js";
import type {
  InvokeResult,
  ResponsesAction,
  ResponsesNativeCapability,
  ResponsesTrace,
  Usage,
} from "../types.js";
import { RESPONSE_ID_PATTERN } from "./request.js";
import { responsesUsageToUsage } from "./response.js";
import type { ResponsesStreamEvent } from "./wire.js";

/** Where an upstream keeps its Responses API, relative to the account's base URL. */
export interface NativeResponsesEndpoints {
  /** e.g. `/responses` (OpenAI), `/openai/v1/responses` (Azure OpenAI). */
  basePath: string;
  /** The model as the upstream names it (Azure: the deployment). */
  model(model: string): string;
  headers: Record<string, string>;
  accountName: string;
}

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** Query parameters each action forwards; anything else is dropped. */
const QUERY_FIELDS: Record<ResponsesAction, readonly string[]> = {
  get: ["include"],
  delete: [],
  input_items: ["after", "before", "limit", "order", "include"],
  cancel: [],
};
const QUERY_VALUE = /^[A-Za-z0-9_.:-]{1,128}$/;

function itemIdsOf(output: unknown): string[] {
  if (!Array.isArray(output)) return [];
  return output.flatMap((item: { id?: unknown } | null) => (typeof item?.id === "string" ? [item.id] : []));
}

/** A 404 from the provider means the response is gone there: say so as a 404, not as a bad request. */
function notFoundUpstream(error: unknown): unknown {
  if (error instanceof GatehouseError && error.code === "provider_invalid_request") {
    if (error.detail?.startsWith("upstream status 404")) {
      return new GatehouseError("not_found", error.message, { detail: error.detail });
    }
  }
  return error;
}

/** The Responses API of an upstream that speaks it: the whitelisted body passes through, events are re-serialised. */
export function createNativeResponses(
  transport: Transport,
  endpoints: NativeResponsesEndpoints,
  errors: ErrorContext,
): ResponsesNativeCapability {
  const { basePath, headers, accountName } = endpoints;
  const isTerminal = (event: SseEvent) => TERMINAL.has(event.event);

  return {
    async responses(request, signal): Promise<InvokeResult> {
      const body = { ...request, model: endpoints.model(String(request.model)) };
      const response = await transport.post({ path: basePath, headers, body }, signal);
      if (request.stream !== true) {
        const json = (await readJson(response, signal, accountName)) as Record<string, unknown> | null;
        if (typeof json !== "object" || json === null || typeof json.id !== "string") {
          throw malformedUpstream("Responses body without an id");
        }
        const id = json.id;
        const ids = itemIdsOf(json.output);
        const trace: ResponsesTrace = {
          native: true,
          id: () => id,
          itemIds: () => ids,
          record: () => undefined,
        };
        return {
          kind: "json",
          status: response.status,
          body: json,
          usage: responsesUsageToUsage(json.usage),
          responses: trace,
        };
      }
      let id: string | undefined;
      const ids: string[] = [];
      let usage: Usage | null = null;
      const sse = readSse(response, signal, accountName, isTerminal);
      async function* frames(): AsyncGenerator<string> {
        for await (const raw of sse) {
          const event = parseJsonEvent<ResponsesStreamEvent>(raw.data);
          if (typeof event?.type !== "string")
            throw malformedUpstream("Responses stream event without a type");
          if (event.type === "error") {
            const e = event as { code?: string | null; message?: string };
            throw upstreamStreamError(e.code ?? undefined, e.message, errors);
          }
          const carried = event.response as { id?: unknown; usage?: unknown; output?: unknown } | undefined;
          if (id === undefined && typeof carried?.id === "string") id = carried.id;
          if (event.type === "response.output_item.added") {
            const item = event.item as { id?: unknown } | undefined;
            if (typeof item?.id === "string") ids.push(item.id);
          }
          if (TERMINAL.has(event.type)) usage = responsesUsageToUsage(carried?.usage);
          // Re-serialised from the parsed event so nothing but JSON reaches the caller.
          yield `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
          if (TERMINAL.has(event.type)) return;
        }
        throw malformedUpstream("Responses stream ended without response.completed");
      }
      return {
        kind: "stream",
        frames: frames(),
        usage: () => usage,
        responses: { native: true, id: () => id, itemIds: () => ids, record: () => undefined },
      };
    },

    async responsesAction(action, id, query, signal) {
      if (!RESPONSE_ID_PATTERN.test(id)) throw invalidRequest("response id is malformed");
      const params = new URLSearchParams();
      for (const field of QUERY_FIELDS[action]) {
        const value = query[field];
        if (value === undefined) continue;
        if (!QUERY_VALUE.test(value)) throw invalidRequest(`query parameter ${field} is malformed`);
        params.append(field, value);
      }
      const search = params.size > 0 ? `?${params.toString()}` : "";
      const path = `${basePath}/${id}${action === "input_items" ? "/input_items" : action === "cancel" ? "/cancel" : ""}${search}`;
      const method = action === "delete" ? "DELETE" : action === "cancel" ? "POST" : "GET";
      try {
        const response = await transport.post({ method, path, headers, body: {} }, signal);
        return { status: response.status, body: await readJson(response, signal, accountName) };
      } catch (error) {
        throw notFoundUpstream(error);
      }
    },
  };
}
