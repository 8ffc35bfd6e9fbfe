import { describe, expect, it } from "vitest";
import { mockChatAnswer, mockEmbedding } from "./answer.js";

describe("mock provider answers", () => {
  it("echoes the last user message deterministically with word-count usage", () => {
    const request = { model: "m", messages: [{ role: "user" as const, content: "hello there world" }] };
    const a = mockChatAnswer(request);
    expect(a).toEqual(mockChatAnswer(request));
    expect(a).toMatchObject({
      kind: "text",
      text: "mock: hello there world",
      usage: { promptTokens: 4, completionTokens: 4, totalTokens: 8 },
    });
  });

  it("calls a tool only when asked by name and the tool exists", () => {
    const tools = [{ type: "function" as const, function: { name: "lookup" } }];
    expect(
      mockChatAnswer({ model: "m", tools, messages: [{ role: "user", content: "please call lookup" }] }).kind,
    ).toBe("tool");
    expect(
      mockChatAnswer({ model: "m", tools, messages: [{ role: "user", content: "please call other" }] }).kind,
    ).toBe("text");
  });

  it("embeds equal texts equally, as unit vectors", () => {
    const v = mockEmbedding("abc");
    expect(v).toHaveLength(8);
    expect(mockEmbedding("abc")).toEqual(v);
    expect(mockEmbedding("abd")).not.toEqual(v);
    expect(Math.hypot(...v)).toBeCloseTo(1, 4);
  });
});
