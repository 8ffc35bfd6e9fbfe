import { describe, expect, it } from "vitest";
import { sanitiseOpenAIChatRequest } from "./request.js";

const base = { messages: [{ role: "user", content: "hi" }] };

describe("sanitiseOpenAIChatRequest", () => {
  it("keeps documented fields, drops everything else, and forces the resolved model", () => {
    const { request } = sanitiseOpenAIChatRequest(
      {
        ...base,
        model: "other",
        n: 2,
        seed: 1,
        response_format: { type: "json_object" },
        user: "u",
        base_url: "x",
        api_key: "y",
        extra_headers: {},
      },
      "gpt-4o",
      false,
    );
    expect(request).toEqual({
      ...base,
      model: "gpt-4o",
      n: 2,
      seed: 1,
      response_format: { type: "json_object" },
      user: "u",
      stream: false,
    });
  });

  it("always asks for usage on streams and remembers whether the caller did", () => {
    const plain = sanitiseOpenAIChatRequest(base, "m", true);
    expect(plain.request.stream_options).toEqual({ include_usage: true });
    expect(plain.wantsUsage).toBe(false);
    expect(
      sanitiseOpenAIChatRequest({ ...base, stream_options: { include_usage: true } }, "m", true).wantsUsage,
    ).toBe(true);
    expect(
      sanitiseOpenAIChatRequest({ ...base, stream_options: { include_usage: true } }, "m", false).request,
    ).not.toHaveProperty("stream_options");
  });

  it("refuses malformed bodies with invalid_request naming the field", () => {
    expect(() => sanitiseOpenAIChatRequest({ messages: [] }, "m", false)).toThrowError(
      expect.objectContaining({ code: "invalid_request" }),
    );
    expect(() =>
      sanitiseOpenAIChatRequest({ messages: [{ role: "wizard", content: "x" }] }, "m", false),
    ).toThrow(/messages/);
    expect(() =>
      sanitiseOpenAIChatRequest({ messages: [{ role: "tool", content: "x" }] }, "m", false),
    ).toThrow(/tool_call_id/);
  });
});
