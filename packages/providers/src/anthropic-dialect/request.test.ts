import { describe, expect, it } from "vitest";
import { fixture } from "../../test/fixtures.js";
import type { AnthropicMessagesRequest } from "../anthropic/wire.js";
import { anthropicMessagesToOpenAIChat, sanitiseAnthropicMessagesRequest } from "./request.js";

describe("anthropicMessagesToOpenAIChat", () => {
  const request = fixture<AnthropicMessagesRequest>("anthropic/messages-request-full.json");
  const out = anthropicMessagesToOpenAIChat(request);

  it("maps system, images, tool_use, tool_result (before the user's text) and drops thinking", () => {
    expect(out.messages).toEqual([
      { role: "system", content: "You are helpful.\n\nBe brief." },
      {
        role: "user",
        content: [
          { type: "text", text: "What's in this image and the weather?" },
          { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } },
          { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
        ],
      },
      {
        role: "assistant",
        content: "A cat. Checking weather.",
        tool_calls: [
          {
            id: "toolu_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "toolu_1", content: "21C" },
      { role: "user", content: "And tomorrow?" },
    ]);
  });

  it("maps tools, tool_choice any → required, disable_parallel_tool_use, stop and metadata", () => {
    expect(out.tools?.[0]).toEqual({
      type: "function",
      function: {
        name: "get_weather",
        description: "Weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    });
    expect(out).toMatchObject({
      tool_choice: "required",
      parallel_tool_calls: false,
      stop: ["STOP"],
      temperature: 0.5,
      user: "u-1",
      max_tokens: 1024,
    });
  });

  it("whitelists the body and uses the resolved model", () => {
    const clean = sanitiseAnthropicMessagesRequest(
      { ...request, model: "x", api_key: "k", baseURL: "http://evil" },
      "claude-x",
      false,
    );
    expect(clean).not.toHaveProperty("api_key");
    expect(clean).not.toHaveProperty("baseURL");
    expect(clean.model).toBe("claude-x");
  });
});
