import { describe, expect, it } from "vitest";
import { fixture } from "../../test/fixtures.js";
import { GeminiChunksToOpenAIChunks, geminiResponseToOpenAIChat } from "./response.js";
import type { GeminiGenerateContentResponse } from "./wire.js";

const errors = { accountName: "g", secrets: [], extractMessage: () => undefined };

describe("Gemini → OpenAI responses", () => {
  it("converts text + functionCall, finish tool_calls, usage incl. thoughts", () => {
    const out = geminiResponseToOpenAIChat(
      fixture<GeminiGenerateContentResponse>("gemini/generate-content-function-call.json"),
      "m",
    );
    const choice = out.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBe("Let me look that up. ");
    expect(choice?.message.tool_calls?.[0]?.function).toEqual({
      name: "get_weather",
      arguments: '{"city":"Boston"}',
    });
    expect(choice?.message.tool_calls?.[0]?.id).toMatch(/^call_/);
    expect(out.usage).toEqual({
      prompt_tokens: 25,
      completion_tokens: 15,
      total_tokens: 40,
      completion_tokens_details: { reasoning_tokens: 3 },
    });
  });

  it("a blocked prompt becomes content_filter with empty content", () => {
    const out = geminiResponseToOpenAIChat(
      fixture<GeminiGenerateContentResponse>("gemini/prompt-blocked.json"),
      "m",
    );
    expect(out.choices[0]).toMatchObject({ finish_reason: "content_filter", message: { content: "" } });
  });

  it("converts a stream into role, content, finish and a final usage chunk", () => {
    const translator = new GeminiChunksToOpenAIChunks("gemini-2.5-flash", errors);
    const chunks = fixture<GeminiGenerateContentResponse[]>("gemini/stream-text.json").flatMap((r) =>
      translator.push(r),
    );
    chunks.push(...translator.finish());
    const deltas = chunks.flatMap((c) => c.choices.map((x) => x.delta));
    expect(deltas[0]).toEqual({ role: "assistant", content: "" });
    expect(deltas.map((d) => d.content ?? "").join("")).toBe("The sky is blue.");
    expect(chunks.flatMap((c) => c.choices.map((x) => x.finish_reason)).filter(Boolean)).toEqual(["stop"]);
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 8, completion_tokens: 4, total_tokens: 12 });
  });

  it("fails on an in-stream error object", () => {
    const translator = new GeminiChunksToOpenAIChunks("m", errors);
    expect(() =>
      translator.push({ error: { code: 500, message: "boom", status: "INTERNAL" } } as never),
    ).toThrowError(expect.objectContaining({ code: "provider_error" }));
  });
});
