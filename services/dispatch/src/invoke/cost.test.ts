import { describe, expect, it } from "vitest";
import { costUsd, pricesOf } from "./cost.js";

const usage = (promptTokens: number, completionTokens: number, cachedTokens?: number) => ({
  promptTokens,
  completionTokens,
  totalTokens: promptTokens + completionTokens,
  ...(cachedTokens === undefined ? {} : { cachedTokens }),
});

describe("costUsd", () => {
  it("prices input and output tokens per million", () => {
    expect(costUsd(usage(1_000_000, 500_000), { input: 0.15, output: 0.6 })).toBeCloseTo(0.45, 9);
    expect(costUsd(usage(3, 5), { input: 2.5, output: 10 })).toBe(0.0000575);
  });

  it("bills cached prompt tokens as input (they are part of the prompt count)", () => {
    expect(costUsd(usage(1_000, 0, 800), { input: 1, output: 2 })).toBe(0.001);
  });

  it("is null without a price, without counts, or with tokens of an unpriced kind", () => {
    expect(costUsd(usage(10, 10), undefined)).toBeNull();
    expect(costUsd(null, { input: 1, output: 1 })).toBeNull();
    expect(costUsd(usage(10, 10), { input: 1 })).toBeNull();
    // Embeddings have no output tokens: an input price is enough.
    expect(costUsd(usage(1_000_000, 0), { input: 0.02 })).toBe(0.02);
  });
});

describe("pricesOf", () => {
  it("keeps the models with a price", () => {
    const prices = pricesOf([
      { name: "a", kind: "chat", inputPricePerMTok: 1, outputPricePerMTok: 2 },
      { name: "b", kind: "chat" },
    ]);
    expect([...prices.keys()]).toEqual(["a"]);
    expect(prices.get("a")).toEqual({ input: 1, output: 2 });
  });
});
