import { describe, expect, it } from "vitest";
import { fixture } from "../../test/fixtures.js";
import type { OpenAIChatChunk } from "../openai-compatible/wire.js";
import { OpenAIChunksToAnthropicEvents } from "./stream.js";

describe("OpenAIChunksToAnthropicEvents", () => {
  it("produces the Anthropic event sequence for text then two tool calls", () => {
    const translator = new OpenAIChunksToAnthropicEvents("claude-compat");
    const events = fixture<OpenAIChatChunk[]>("openai/chat-stream-text-then-tool.json").flatMap((c) =>
      translator.push(c),
    );
    events.push(...translator.finish());
    expect(
      events.map((e) => (e.type === "content_block_delta" ? `${e.type}:${e.index}:${e.delta.type}` : e.type)),
    ).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta:0:text_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta:1:input_json_delta",
      "content_block_delta:1:input_json_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta:2:input_json_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(events[4]).toEqual({
      type: "content_block_start",
      index: 1,
      content_block: { type: "tool_use", id: "call_1", name: "get_weather", input: {} },
    });
    expect(events.at(-2)).toEqual({
      type: "message_delta",
      delta: { stop_reason: "tool_use", stop_sequence: null },
      usage: { input_tokens: 40, output_tokens: 25 },
    });
  });

  it("still emits a well-formed message for an empty stream", () => {
    const events = new OpenAIChunksToAnthropicEvents("m").finish();
    expect(events.map((e) => e.type)).toEqual(["message_start", "message_delta", "message_stop"]);
  });
});
