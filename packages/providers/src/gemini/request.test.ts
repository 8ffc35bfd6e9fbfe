import { describe, expect, it } from "vitest";
import { fixture } from "../../test/fixtures.js";
import type { OpenAIChatRequest } from "../openai-compatible/wire.js";
import { geminiModelPath, openAIChatToGeminiGenerateContent } from "./request.js";

describe("openAIChatToGeminiGenerateContent", () => {
  const out = openAIChatToGeminiGenerateContent(fixture<OpenAIChatRequest>("openai/chat-request-full.json"));

  it("puts system prompts in systemInstruction", () => {
    expect(out.systemInstruction).toEqual({
      parts: [{ text: "You are a weather bot.\n\nAnswer in metric." }],
    });
  });

  it("maps images, function calls and function responses (by the call's name)", () => {
    expect(out.contents[0]).toEqual({
      role: "user",
      parts: [
        { text: "What is the weather here?" },
        { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
        { fileData: { mimeType: "image/jpeg", fileUri: "https://example.com/photo.jpg" } },
      ],
    });
    expect(out.contents[1]).toEqual({
      role: "model",
      parts: [
        { functionCall: { name: "get_weather", args: { city: "Paris" } } },
        { functionCall: { name: "get_time", args: { tz: "Europe/Paris" } } },
      ],
    });
    expect(out.contents[2]).toEqual({
      role: "user",
      parts: [
        { functionResponse: { name: "get_weather", response: { temp_c: 21 } } },
        { functionResponse: { name: "get_time", response: { result: "14:00" } } },
        { text: "Thanks. Anything else?" },
      ],
    });
  });

  it("maps tools to functionDeclarations without JSON-Schema-only keywords, and tool_choice to toolConfig", () => {
    const decl = out.tools?.[0]?.functionDeclarations[0];
    expect(decl).toEqual({
      name: "get_weather",
      description: "Current weather",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    });
    expect(out.toolConfig).toEqual({
      functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] },
    });
  });

  it("maps sampling fields to generationConfig", () => {
    expect(out.generationConfig).toEqual({
      temperature: 0.3,
      topP: 0.9,
      maxOutputTokens: 300,
      stopSequences: ["END"],
      seed: 7,
    });
  });

  it("accepts only plain model ids in the URL path", () => {
    expect(geminiModelPath("gemini-2.5-flash")).toBe("/models/gemini-2.5-flash");
    expect(geminiModelPath("models/gemini-pro")).toBe("/models/gemini-pro");
    expect(() => geminiModelPath("../../v1/files")).toThrow();
    expect(() => geminiModelPath("a?key=x")).toThrow();
  });
});
