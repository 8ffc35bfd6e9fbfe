import { describe, expect, it } from "vitest";
import { fixture } from "../../test/fixtures.js";
import type { OpenAIChatChunk } from "../openai-compatible/wire.js";
import {
  AnthropicEventsToOpenAIChunks,
  anthropicMessageToOpenAIChat,
  anthropicStopReasonToOpenAI,
} from "./response.js";
import type { AnthropicMessageResponse, AnthropicStreamEvent } from "./wire.js";

const errors = { accountName: "a", secrets: [], extractMessage: () => undefined };

describe("Anthropic → OpenAI responses", () => {
  it("maps stop reasons", () => {
    expect(anthropicStopReasonToOpenAI("end_turn")).toBe("stop");
    expect(anthropicStopReasonToOpenAI("stop_sequence")).toBe("stop");
    expect(anthropicStopReasonToOpenAI("max_tokens")).toBe("length");
    expect(anthropicStopReasonToOpenAI("tool_use")).toBe("tool_calls");
    expect(anthropicStopReasonToOpenAI("refusal")).toBe("content_filter");
  });

  it("converts a tool_use message, dropping thinking and counting cached prompt tokens", () => {
    const out = anthropicMessageToOpenAIChat(
      fixture<AnthropicMessageResponse>("anthropic/messages-response-tool-use.json"),
    );
    expect(out.choices[0]).toMatchObject({
      finish_reason: "tool_calls",
      message: {
        role: "assistant",
        content: "I'll check the weather.",
        tool_calls: [
          {
            id: "toolu_01A09q90qw90lq917835lq9",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"San Francisco"}' },
          },
        ],
      },
    });
    expect(out.usage).toEqual({
      prompt_tokens: 582,
      completion_tokens: 89,
      total_tokens: 671,
      prompt_tokens_details: { cached_tokens: 100 },
    });
  });

  it("converts the streaming event sequence into OpenAI chunks with tool-call deltas and a usage chunk", () => {
    const translator = new AnthropicEventsToOpenAIChunks(errors);
    const chunks: OpenAIChatChunk[] = fixture<AnthropicStreamEvent[]>(
      "anthropic/stream-text-and-tool-use.json",
    ).flatMap((e) => translator.push(e));
    expect(translator.done).toBe(true);
    const deltas = chunks.flatMap((c) => c.choices.map((choice) => choice.delta));
    expect(deltas[0]).toEqual({ role: "assistant", content: "" });
    expect(deltas.map((d) => d.content ?? "").join("")).toBe("Okay, let me check.");
    const toolDeltas = deltas.flatMap((d) => d.tool_calls ?? []);
    expect(toolDeltas[0]).toEqual({
      index: 0,
      id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
      type: "function",
      function: { name: "get_weather", arguments: "" },
    });
    expect(toolDeltas.map((t) => t.function?.arguments ?? "").join("")).toBe(
      '{"location": "San Francisco, CA"}',
    );
    expect(chunks.flatMap((c) => c.choices.map((x) => x.finish_reason)).filter(Boolean)).toEqual([
      "tool_calls",
    ]);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual({ prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 });
    expect(translator.usage()).toEqual({ promptTokens: 472, completionTokens: 89, totalTokens: 561 });
    expect(new Set(chunks.map((c) => c.id))).toEqual(new Set(["msg_014p7gG3wDgGV9EUtLvnow3U"]));
  });

  it("throws a GatehouseError on an error event", () => {
    const translator = new AnthropicEventsToOpenAIChunks(errors);
    expect(() =>
      translator.push({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }),
    ).toThrowError(expect.objectContaining({ code: "provider_error" }));
  });
});
