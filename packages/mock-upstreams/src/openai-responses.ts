import type { AnswerPlan } from "./behaviour.js";
import type { Route } from "./server.js";

/**
 * The OpenAI Responses API (https://platform.openai.com/docs/api-reference/responses): create, with
 * the streamed event sequence; and, for what was stored, retrieve, delete, input_items and cancel.
 * One store per upstream instance, in memory.
 */

const CREATED = 1_717_000_000;

type Json = Record<string, unknown>;

interface Stored {
  response: Json;
  input: Json[];
}

function errorBody(status: number, message: string, code: string | null = null) {
  return { status, body: { error: { message, type: "invalid_request_error", param: null, code } } };
}

function inputItems(input: unknown, seq: number): Json[] {
  const items: unknown[] =
    typeof input === "string" ? [{ role: "user", content: [{ type: "input_text", text: input }] }] : [];
  if (Array.isArray(input)) items.push(...input);
  return items.map((item, i) => ({
    id: `msg_mock_in_${seq}_${i}`,
    type: "message",
    status: "completed",
    ...(item as Json),
  }));
}

function usage(plan: AnswerPlan) {
  return {
    input_tokens: plan.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: plan.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: plan.promptTokens + plan.completionTokens,
  };
}

export class ResponsesStore {
  private readonly stored = new Map<string, Stored>();
  private seq = 0;

  /** Refuses what OpenAI refuses before answering: an unknown previous response. */
  check(body: Json): { status: number; body: unknown } | null {
    const previous = body.previous_response_id;
    if (typeof previous === "string" && !this.stored.has(previous)) {
      return errorBody(
        404,
        `Previous response with id '${previous}' not found.`,
        "previous_response_not_found",
      );
    }
    return null;
  }

  private shell(
    id: string,
    route: Route,
    body: Json,
    status: string,
    output: Json[],
    plan: AnswerPlan | null,
  ) {
    return {
      id,
      object: "response",
      created_at: CREATED,
      status,
      background: body.background === true,
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      model: route.model,
      output,
      parallel_tool_calls: body.parallel_tool_calls ?? true,
      previous_response_id: body.previous_response_id ?? null,
      reasoning: { effort: null, summary: null },
      store: body.store !== false,
      temperature: body.temperature ?? 1,
      text: body.text ?? { format: { type: "text" } },
      tool_choice: body.tool_choice ?? "auto",
      tools: body.tools ?? [],
      top_p: body.top_p ?? 1,
      truncation: "disabled",
      usage: plan === null ? null : usage(plan),
      user: null,
      metadata: body.metadata ?? {},
    };
  }

  private outputOf(plan: AnswerPlan, n: number): Json {
    return plan.kind === "text"
      ? {
          type: "message",
          id: `msg_mock_${n}`,
          status: "completed",
          role: "assistant",
          content: [{ type: "output_text", text: plan.pieces.join(""), annotations: [], logprobs: [] }],
        }
      : {
          type: "function_call",
          id: `fc_mock_${n}`,
          call_id: plan.id,
          name: plan.name,
          arguments: JSON.stringify(plan.arguments),
          status: "completed",
        };
  }

  private keep(body: Json, response: Json, n: number): void {
    if (body.store !== false)
      this.stored.set(String(response.id), { response, input: inputItems(body.input, n) });
  }

  json(plan: AnswerPlan, route: Route, body: Json): Json {
    const n = ++this.seq;
    const background = body.background === true;
    const response = this.shell(
      `resp_mock_${n}`,
      route,
      body,
      background ? "in_progress" : "completed",
      background ? [] : [this.outputOf(plan, n)],
      background ? null : plan,
    );
    this.keep(body, response, n);
    return response;
  }

  frames(plan: AnswerPlan, route: Route, body: Json): string[] {
    const n = ++this.seq;
    const id = `resp_mock_${n}`;
    const events: Json[] = [];
    const started = this.shell(id, route, body, "in_progress", [], null);
    events.push({ type: "response.created", response: started });
    events.push({ type: "response.in_progress", response: started });
    const item = this.outputOf(plan, n);
    const at = { item_id: item.id, output_index: 0 };
    if (plan.kind === "text") {
      const text = plan.pieces.join("");
      events.push({
        type: "response.output_item.added",
        output_index: 0,
        item: { ...item, status: "in_progress", content: [] },
      });
      events.push({
        type: "response.content_part.added",
        ...at,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [] },
      });
      for (const delta of plan.pieces)
        events.push({ type: "response.output_text.delta", ...at, content_index: 0, delta, logprobs: [] });
      events.push({ type: "response.output_text.done", ...at, content_index: 0, text, logprobs: [] });
      events.push({
        type: "response.content_part.done",
        ...at,
        content_index: 0,
        part: { type: "output_text", text, annotations: [] },
      });
    } else {
      events.push({
        type: "response.output_item.added",
        output_index: 0,
        item: { ...item, arguments: "", status: "in_progress" },
      });
      for (const delta of plan.argumentPieces)
        events.push({ type: "response.function_call_arguments.delta", ...at, delta });
      events.push({
        type: "response.function_call_arguments.done",
        ...at,
        name: plan.name,
        arguments: item.arguments,
      });
    }
    events.push({ type: "response.output_item.done", output_index: 0, item });
    const done = this.shell(id, route, body, "completed", [item], plan);
    events.push({ type: "response.completed", response: done });
    this.keep(body, done, n);
    return events.map((event, sequence) => {
      const data = { ...event, sequence_number: sequence };
      return `event: ${String(event.type)}\ndata: ${JSON.stringify(data)}\n\n`;
    });
  }

  /** GET/DELETE `/responses/{id}`, GET `/responses/{id}/input_items`, POST `/responses/{id}/cancel`. */
  manage(method: string, rest: string): { status: number; body: unknown } | null {
    const match = /^\/([^/]+)(\/input_items|\/cancel)?$/.exec(rest);
    if (!match?.[1]) return null;
    const id = decodeURIComponent(match[1]);
    const found = this.stored.get(id);
    const action = `${method} ${match[2] ?? ""}`;
    if (!["GET ", "DELETE ", "GET /input_items", "POST /cancel"].includes(action)) return null;
    if (!found) return errorBody(404, `Response with id '${id}' not found.`);
    switch (action) {
      case "GET ":
        return { status: 200, body: found.response };
      case "DELETE ":
        this.stored.delete(id);
        return { status: 200, body: { id, object: "response", deleted: true } };
      case "GET /input_items":
        return {
          status: 200,
          body: {
            object: "list",
            data: [...found.input].reverse(),
            first_id: found.input.at(-1)?.id ?? null,
            last_id: found.input[0]?.id ?? null,
            has_more: false,
          },
        };
      default: {
        if (found.response.background !== true) {
          return errorBody(400, "Cannot cancel a response that was not created with background=true.");
        }
        found.response = { ...found.response, status: "cancelled" };
        return { status: 200, body: found.response };
      }
    }
  }
}

export function responsesErrorFrame(errorType: string | undefined, message: string | undefined): string {
  const data = {
    type: "error",
    code: errorType ?? "server_error",
    message: message ?? "The server had an error while processing your request.",
    param: null,
    sequence_number: 2,
  };
  return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
}
