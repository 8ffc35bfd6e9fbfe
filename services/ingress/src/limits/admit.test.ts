import { describe, expect, it } from "vitest";
import { estimateMicroUsd, estimateTokens } from "./admit.js";

describe("what a call is pre-charged", () => {
  it("tokens: the body at 4 bytes a token plus the most it may generate", () => {
    expect(estimateTokens(400, { max_tokens: 50 })).toBe(150);
    expect(estimateTokens(401, {})).toBe(101);
    expect(estimateTokens(0, { max_completion_tokens: 7, max_tokens: 3 })).toBe(7);
  });

  it("micro-USD: prompt tokens × input price + max tokens × output price (USD per million tokens)", () => {
    // 100 prompt tokens at $2.50/M and 50 at $10/M: $0.00025 + $0.0005 = 750 micro-USD.
    expect(estimateMicroUsd(400, { max_tokens: 50 }, { input: 2.5, output: 10 })).toBe(750);
    expect(estimateMicroUsd(4, {}, { input: 0.1, output: 0.4 })).toBe(1);
  });

  it("every choice a call asks for (n, best_of, a batch of prompts) may reach max_tokens, so each is pre-charged", () => {
    // 4 choices of up to 50 tokens at $10/M: $0.002; the prompt (100 tokens at $2.50/M) once.
    expect(estimateMicroUsd(400, { max_tokens: 50, n: 4 }, { input: 2.5, output: 10 })).toBe(2_250);
    expect(estimateTokens(0, { max_tokens: 10, best_of: 3, n: 2 })).toBe(30);
    expect(estimateTokens(0, { max_tokens: 10, n: 1e9 })).toBe(1_280);
    expect(estimateTokens(0, { max_tokens: 10, n: "4" })).toBe(10);
    // A legacy completion with a batch of prompts: each prompt gets its own choices.
    expect(estimateTokens(0, { max_tokens: 10, n: 2, prompt: ["a", "b", "c"] })).toBe(60);
    expect(estimateTokens(0, { max_tokens: 10, prompt: [[1, 2], [3]] })).toBe(20);
    expect(estimateTokens(0, { max_tokens: 10, prompt: [1, 2, 3] })).toBe(10);
    expect(estimateTokens(0, { max_tokens: 10, prompt: "abc" })).toBe(10);
  });

  it("at least 1 micro-USD, so a spent budget refuses calls it cannot price", () => {
    expect(estimateMicroUsd(400, { max_tokens: 50 }, undefined)).toBe(1);
    expect(estimateMicroUsd(0, {}, { input: 0, output: 0 })).toBe(1);
  });
});
