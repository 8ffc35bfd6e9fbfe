import { describe, expect, it } from "vitest";
import { fixture } from "../../test/fixtures.js";
import type { OpenAIChatRequest } from "../openai-compatible/wire.js";
import { openAIChatToAnthropicMessages } from "./request.js";

describe("openAIChatToAnthropicMessages", () => {
  const request = fixture<OpenAIChatRequest>("openai/chat-request-full.json");
  const out = openAIChatToAnthropicMessages(request, 4096);

  it("lifts system and developer messages into system", () => {
    expect(out.system).toBe("You are a weather bot.\n\nAnswer in metric.");
    expect(out.messages.every((m) => m.role === "user" || m.role === "assistant")).toBe(true);
  });

  it("turns data URLs into base64 sources and http URLs into url sources", () => {
    expect(out.messages[0]?.content).toEqual([
      { type: "text", text: "What is the weather here?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/photo.jpg" } },
    ]);
  });

  it("turns tool calls into tool_use and merges tool results with the next user turn", () => {
    expect(out.messages[1]).toEqual({
      role: "assistant",
      content: [
        { type: "tool_use", id: "call_abc123", name: "get_weather", input: { city: "Paris" } },
        { type: "tool_use", id: "call_def456", name: "get_time", input: { tz: "Europe/Paris" } },
      ],
    });
    expect(out.messages[2]).toEqual({
      role: "user",
      content: [
        { type: "tool_result", tool_use_id: "call_abc123", content: '{"temp_c":21}' },
        { type: "tool_result", tool_use_id: "call_def456", content: "14:00" },
        { type: "text", text: "Thanks. Anything else?" },
      ],
    });
    expect(out.messages).toHaveLength(3);
  });

  it("maps tools, tool_choice, parallel_tool_calls and sampling fields", () => {
    expect(out.tools?.[0]).toMatchObject({
      name: "get_weather",
      description: "Current weather",
      input_schema: { type: "object" },
    });
    expect(out.tool_choice).toEqual({ type: "tool", name: "get_weather", disable_parallel_tool_use: true });
    expect(out).toMatchObject({
      max_tokens: 300,
      temperature: 0.3,
      top_p: 0.9,
      stop_sequences: ["END"],
      metadata: { user_id: "user-42" },
    });
    expect(out).not.toHaveProperty("seed");
  });

  it("defaults max_tokens, which Anthropic requires", () => {
    expect(
      openAIChatToAnthropicMessages({ model: "m", messages: [{ role: "user", content: "hi" }] }, 1234)
        .max_tokens,
    ).toBe(1234);
  });

  it("refuses what Anthropic cannot do rather than silently ignoring it", () => {
    expect(() =>
      openAIChatToAnthropicMessages({ model: "m", n: 2, messages: [{ role: "user", content: "hi" }] }, 1),
    ).toThrow(/n > 1/);
    const bad = {
      model: "m",
      messages: [{ role: "user" as const, content: [{ type: "image_url", image_url: { url: "ftp://x" } }] }],
    };
    expect(() => openAIChatToAnthropicMessages(bad, 1)).toThrow(/image_url/);
  });
});
