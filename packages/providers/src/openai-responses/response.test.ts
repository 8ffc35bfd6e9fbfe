import { describe, expect, it } from "vitest";
import type { OpenAIChatResponse } from "../openai-compatible/wire.js";
import { openAIChatResponseToOpenAIResponse, responseJson } from "./response.js";
import type { ResponsesRequest } from "./wire.js";

const chat = (content: string | null, extra: Record<string, unknown> = {}): OpenAIChatResponse =>
  ({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content, ...extra }, finish_reason: "stop" }],
  }) as OpenAIChatResponse;

const requests: Array<Partial<ResponsesRequest>> = [
  {},
  { input: "hi", max_output_tokens: 16 },
  { instructions: 'be "brief"\n\u2028ünïcode', temperature: 0.2, top_p: 1, user: "u-1" },
  { previous_response_id: "resp_gh_abc", reasoning: { effort: "low" }, parallel_tool_calls: false },
  { metadata: { team: "a", 'quote"key': "v" }, tool_choice: "required" },
  {
    tools: [{ type: "function", name: "f", parameters: { type: "object", properties: {} } }],
    tool_choice: { type: "function", name: "f" },
  },
  { text: { format: { type: "json_schema", name: "s", schema: { type: "object" } } } },
  { text: { format: { type: "text" } } },
  { text: {} },
  // Values the request check lets through as they are: the JSON must still be what JSON.stringify writes.
  { parallel_tool_calls: "yes" as unknown as boolean, temperature: Number.NaN, max_output_tokens: null },
];

describe("responseJson", () => {
  it.each(requests.map((r, i) => [i, r] as const))(
    "writes exactly what JSON.stringify writes (%i)",
    (_i, r) => {
      const frame = {
        id: "resp_gh_0123",
        createdAt: 1_700_000_000,
        model: "m",
        request: { model: "m", ...r } as ResponsesRequest,
        store: r.user !== undefined,
      };
      for (const [answer, usage] of [
        [chat('Hello "world" \\ </script>'), { promptTokens: 9, completionTokens: 3, totalTokens: 12 }],
        [chat(null, { refusal: "no" }), null],
        [
          chat(null, {
            tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
          }),
          { promptTokens: 1, completionTokens: 2, totalTokens: 3, cachedTokens: 1, reasoningTokens: 2 },
        ],
      ] as const) {
        const response = openAIChatResponseToOpenAIResponse(answer, frame, usage);
        expect(responseJson(response)).toBe(JSON.stringify(response));
      }
    },
  );
});
