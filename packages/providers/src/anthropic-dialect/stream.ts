import type { AnthropicStopReason, AnthropicStreamEvent } from "../anthropic/wire.js";
import { openAIUsageToUsage } from "../openai-compatible/response.js";
import type { OpenAIChatChunk } from "../openai-compatible/wire.js";
import type { Usage } from "../types.js";
import { anthropicMessageId, openAIFinishReasonToAnthropic } from "./response.js";

type OpenBlock = { kind: "text"; index: number } | { kind: "tool"; index: number; toolIndex: number };

/**
 * Stateful: OpenAI chat chunks (choice 0) in, Anthropic stream events out, in the documented order
 * message_start, (content_block_start, content_block_delta*, content_block_stop)*, message_delta, message_stop.
 */
export class OpenAIChunksToAnthropicEvents {
  private started = false;
  private open: OpenBlock | null = null;
  private nextBlockIndex = 0;
  private stopReason: AnthropicStopReason = "end_turn";
  private usage: Usage | null = null;
  private readonly id = anthropicMessageId();

  constructor(private readonly model: string) {}

  push(chunk: OpenAIChatChunk): AnthropicStreamEvent[] {
    const events: AnthropicStreamEvent[] = [];
    this.start(events);
    const seen = openAIUsageToUsage(chunk.usage);
    if (seen !== null) this.usage = seen;
    const choice = chunk.choices?.find((c) => c.index === 0);
    if (choice === undefined) return events;
    const delta = choice.delta ?? {};
    if (typeof delta.content === "string" && delta.content !== "") {
      if (this.open?.kind !== "text") {
        this.closeBlock(events);
        this.open = { kind: "text", index: this.nextBlockIndex++ };
        events.push({
          type: "content_block_start",
          index: this.open.index,
          content_block: { type: "text", text: "" },
        });
      }
      events.push({
        type: "content_block_delta",
        index: this.open.index,
        delta: { type: "text_delta", text: delta.content },
      });
    }
    for (const call of delta.tool_calls ?? []) {
      const isNew = call.id !== undefined || this.open?.kind !== "tool" || this.open.toolIndex !== call.index;
      if (isNew) {
        this.closeBlock(events);
        this.open = { kind: "tool", index: this.nextBlockIndex++, toolIndex: call.index };
        events.push({
          type: "content_block_start",
          index: this.open.index,
          content_block: {
            type: "tool_use",
            id: call.id ?? `toolu_${this.id}_${call.index}`,
            name: call.function?.name ?? "",
            input: {},
          },
        });
      }
      const args = call.function?.arguments;
      if (args !== undefined && args !== "" && this.open !== null) {
        events.push({
          type: "content_block_delta",
          index: this.open.index,
          delta: { type: "input_json_delta", partial_json: args },
        });
      }
    }
    if (choice.finish_reason != null) this.stopReason = openAIFinishReasonToAnthropic(choice.finish_reason);
    return events;
  }

  /** Call once the OpenAI stream is done. */
  finish(): AnthropicStreamEvent[] {
    const events: AnthropicStreamEvent[] = [];
    this.start(events);
    this.closeBlock(events);
    events.push({
      type: "message_delta",
      delta: { stop_reason: this.stopReason, stop_sequence: null },
      usage: {
        input_tokens: this.usage?.promptTokens ?? 0,
        output_tokens: this.usage?.completionTokens ?? 0,
      },
    });
    events.push({ type: "message_stop" });
    return events;
  }

  currentUsage(): Usage | null {
    return this.usage;
  }

  private start(events: AnthropicStreamEvent[]): void {
    if (this.started) return;
    this.started = true;
    events.push({
      type: "message_start",
      message: {
        id: this.id,
        type: "message",
        role: "assistant",
        model: this.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        // OpenAI reports usage only at the end; the final message_delta carries the real numbers.
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    });
  }

  private closeBlock(events: AnthropicStreamEvent[]): void {
    if (this.open === null) return;
    events.push({ type: "content_block_stop", index: this.open.index });
    this.open = null;
  }
}

export function anthropicEventToFrame(event: AnthropicStreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}
