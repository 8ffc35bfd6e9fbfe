import { describe, expect, it } from "vitest";
import {
  openAIResponsesToOpenAIChat,
  responsesReferences,
  sanitiseOpenAIResponsesRequest,
} from "./request.js";
import type { ResponsesInputItem } from "./wire.js";

const ctx = (over: Partial<Parameters<typeof openAIResponsesToOpenAIChat>[1]> = {}) => ({
  accountType: "gemini" as const,
  structuredOutput: true,
  history: [],
  items: new Map<string, ResponsesInputItem>(),
  ...over,
});

describe("openAIResponsesToOpenAIChat", () => {
  it("puts instructions first, then history, then input; one assistant turn per run of output items", () => {
    const history: ResponsesInputItem[] = [
      { type: "message", role: "user", content: [{ type: "input_text", text: "weather?" }] },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "Let me look." }] },
      { type: "function_call", call_id: "c1", name: "get_weather", arguments: "{}" },
    ];
    const request = sanitiseOpenAIResponsesRequest(
      {
        instructions: "Be brief.",
        input: [
          { type: "function_call_output", call_id: "c1", output: "sunny" },
          {
            role: "user",
            content: [
              { type: "input_text", text: "and this?" },
              { type: "input_image", image_url: "https://example.com/a.png", detail: "low" },
            ],
          },
        ],
        max_output_tokens: 50,
        reasoning: { effort: "low" },
      },
      "m",
      false,
    );
    const chat = openAIResponsesToOpenAIChat(request, ctx({ history }));
    expect(chat.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: [{ type: "text", text: "weather?" }] },
      {
        role: "assistant",
        content: "Let me look.",
        tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "c1", content: "sunny" },
      {
        role: "user",
        content: [
          { type: "text", text: "and this?" },
          { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "low" } },
        ],
      },
    ]);
    expect(chat).toMatchObject({ model: "m", max_tokens: 50, reasoning_effort: "low" });
  });

  it("resolves item references from what the caller handed in, and refuses unknown ones", () => {
    const items = new Map<string, ResponsesInputItem>([
      ["msg_1", { type: "message", role: "assistant", content: [{ type: "output_text", text: "hi" }] }],
    ]);
    const request = sanitiseOpenAIResponsesRequest(
      {
        input: [
          { type: "item_reference", id: "msg_1" },
          { role: "user", content: "more" },
        ],
      },
      "m",
      false,
    );
    expect(openAIResponsesToOpenAIChat(request, ctx({ items })).messages[0]).toEqual({
      role: "assistant",
      content: "hi",
    });
    expect(() => openAIResponsesToOpenAIChat(request, ctx())).toThrow(/input\[0\].*msg_1/);
  });

  it("refuses what chat cannot express, naming the field and the account type", () => {
    const refuse = (body: Record<string, unknown>, pattern: RegExp) =>
      expect(() =>
        openAIResponsesToOpenAIChat(sanitiseOpenAIResponsesRequest(body, "m", false), ctx()),
      ).toThrowError(pattern);
    refuse({ input: "x", tools: [{ type: "file_search" }] }, /tools\[0\].*file_search.*gemini/);
    refuse(
      { input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] },
      /input\[0\]\.content\[0\]/,
    );
    refuse({ input: [{ type: "computer_call_output", call_id: "c" }] }, /input\[0\].*computer_call_output/);
    refuse({ input: "x", background: true }, /background/);
    refuse({ input: "x", tool_choice: { type: "web_search_preview" } }, /tool_choice/);
  });
});

describe("responsesReferences", () => {
  it("names the previous response and every id the provider would look up", () => {
    expect(
      responsesReferences({
        previous_response_id: "resp_1",
        store: false,
        input: [
          { type: "item_reference", id: "fc_1" },
          { type: "reasoning", id: "rs_1", summary: [] },
          { type: "reasoning", id: "rs_2", encrypted_content: "x" },
          { type: "message", id: "msg_9", role: "user", content: "hi" },
        ],
      }),
    ).toEqual({ previousResponseId: "resp_1", itemIds: ["fc_1", "rs_1"], store: false });
  });
});
