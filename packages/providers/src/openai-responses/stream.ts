import { openAIUsageToUsage } from "../openai-compatible/response.js";
import type { OpenAIChatChunk, OpenAIFinishReason } from "../openai-compatible/wire.js";
import type { Usage } from "../types.js";
import {
  newFunctionCallItemId,
  newMessageItemId,
  openAIFinishReasonToResponsesStatus,
  type ResponseFrame,
  responseShell,
} from "./response.js";
import type {
  ResponsesOutputFunctionCall,
  ResponsesOutputItem,
  ResponsesOutputMessage,
  ResponsesResponse,
  ResponsesStreamEvent,
} from "./wire.js";

type Open =
  | {
      kind: "message";
      index: number;
      item: ResponsesOutputMessage;
      part: "output_text" | "refusal";
      text: string;
    }
  | { kind: "call"; index: number; item: ResponsesOutputFunctionCall; toolIndex: number };

type Event = Omit<ResponsesStreamEvent, "sequence_number">;

/**
 * Stateful: OpenAI chat chunks (choice 0) in, Responses stream events out, in the documented order
 * response.created, response.in_progress, then per output item output_item.added, (content_part.added,
 * output_text.delta*, output_text.done, content_part.done | function_call_arguments.delta*,
 * function_call_arguments.done), output_item.done, and finally response.completed (or
 * response.incomplete when the model ran out of tokens).
 */
export class OpenAIChunksToResponsesEvents {
  private sequence = 0;
  private started = false;
  private open: Open | null = null;
  private readonly output: ResponsesOutputItem[] = [];
  private finish: OpenAIFinishReason | null = null;
  private usage: Usage | null = null;
  private final: ResponsesResponse | null = null;

  constructor(private readonly frame: ResponseFrame) {}

  push(chunk: OpenAIChatChunk): ResponsesStreamEvent[] {
    const events: Event[] = [];
    this.start(events);
    const seen = openAIUsageToUsage(chunk.usage);
    if (seen !== null) this.usage = seen;
    const choice = chunk.choices?.find((c) => c.index === 0);
    if (choice !== undefined) {
      const delta = choice.delta ?? {};
      if (typeof delta.content === "string" && delta.content !== "")
        this.text(events, "output_text", delta.content);
      if (typeof delta.refusal === "string" && delta.refusal !== "")
        this.text(events, "refusal", delta.refusal);
      for (const call of delta.tool_calls ?? []) {
        const isNew =
          call.id !== undefined || this.open?.kind !== "call" || this.open.toolIndex !== call.index;
        if (isNew) {
          this.close(events);
          const item: ResponsesOutputFunctionCall = {
            type: "function_call",
            id: newFunctionCallItemId(),
            call_id: call.id ?? `call_${this.frame.id}_${call.index}`,
            name: call.function?.name ?? "",
            arguments: "",
            status: "in_progress",
          };
          this.open = { kind: "call", index: this.output.length, item, toolIndex: call.index };
          this.output.push(item);
          events.push({
            type: "response.output_item.added",
            output_index: this.open.index,
            item: { ...item },
          });
        }
        const args = call.function?.arguments;
        if (args !== undefined && args !== "" && this.open?.kind === "call") {
          this.open.item.arguments += args;
          events.push({
            type: "response.function_call_arguments.delta",
            item_id: this.open.item.id,
            output_index: this.open.index,
            delta: args,
          });
        }
      }
      if (choice.finish_reason != null) this.finish = choice.finish_reason;
    }
    return this.number(events);
  }

  /** Call once the chat stream has ended. */
  finishEvents(): ResponsesStreamEvent[] {
    const events: Event[] = [];
    this.start(events);
    this.close(events);
    const { status, incomplete } = openAIFinishReasonToResponsesStatus(this.finish);
    this.final = responseShell(this.frame, status, this.output, this.usage, incomplete);
    events.push({
      type: status === "incomplete" ? "response.incomplete" : "response.completed",
      response: this.final,
    });
    return this.number(events);
  }

  /** The finished Response object (after `finishEvents`). */
  response(): ResponsesResponse | null {
    return this.final;
  }

  private number(events: Event[]): ResponsesStreamEvent[] {
    return events.map((event) => ({ ...event, sequence_number: this.sequence++ }) as ResponsesStreamEvent);
  }

  private start(events: Event[]): void {
    if (this.started) return;
    this.started = true;
    const shell = responseShell(this.frame, "in_progress", [], null);
    events.push({ type: "response.created", response: shell });
    events.push({ type: "response.in_progress", response: shell });
  }

  private text(events: Event[], part: "output_text" | "refusal", delta: string): void {
    if (this.open?.kind !== "message" || this.open.part !== part) {
      this.close(events);
      const item: ResponsesOutputMessage = {
        type: "message",
        id: newMessageItemId(),
        status: "in_progress",
        role: "assistant",
        content: [],
      };
      this.open = { kind: "message", index: this.output.length, item, part, text: "" };
      this.output.push(item);
      events.push({
        type: "response.output_item.added",
        output_index: this.open.index,
        item: { ...item, content: [] },
      });
      events.push({
        type: "response.content_part.added",
        item_id: item.id,
        output_index: this.open.index,
        content_index: 0,
        part:
          part === "output_text"
            ? { type: "output_text", text: "", annotations: [] }
            : { type: "refusal", refusal: "" },
      });
    }
    this.open.text += delta;
    events.push(
      part === "output_text"
        ? {
            type: "response.output_text.delta",
            item_id: this.open.item.id,
            output_index: this.open.index,
            content_index: 0,
            delta,
            logprobs: [],
          }
        : {
            type: "response.refusal.delta",
            item_id: this.open.item.id,
            output_index: this.open.index,
            content_index: 0,
            delta,
          },
    );
  }

  private close(events: Event[]): void {
    const open = this.open;
    if (open === null) return;
    this.open = null;
    if (open.kind === "message") {
      const at = { item_id: open.item.id, output_index: open.index, content_index: 0 };
      const part =
        open.part === "output_text"
          ? { type: "output_text" as const, text: open.text, annotations: [], logprobs: [] }
          : { type: "refusal" as const, refusal: open.text };
      if (open.part === "output_text") {
        events.push({ type: "response.output_text.done", ...at, text: open.text, logprobs: [] });
      } else {
        events.push({ type: "response.refusal.done", ...at, refusal: open.text });
      }
      events.push({ type: "response.content_part.done", ...at, part });
      open.item.content = [part];
    } else {
      events.push({
        type: "response.function_call_arguments.done",
        item_id: open.item.id,
        output_index: open.index,
        name: open.item.name,
        arguments: open.item.arguments,
      });
    }
    open.item.status = "completed";
    events.push({ type: "response.output_item.done", output_index: open.index, item: { ...open.item } });
  }
}

export function responsesEventToFrame(event: ResponsesStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
