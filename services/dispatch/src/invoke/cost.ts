import type { AccountModel, Usage } from "@gatehouse/contracts";

/** A model's prices as configured on its account, USD per million tokens. */
export interface ModelPrice {
  input?: number | undefined;
  output?: number | undefined;
}

/** The priced models of an account, by model name; models without any price are left out. */
export function pricesOf(models: readonly AccountModel[]): ReadonlyMap<string, ModelPrice> {
  const prices = new Map<string, ModelPrice>();
  for (const m of models) {
    if (m.inputPricePerMTok === undefined && m.outputPricePerMTok === undefined) continue;
    prices.set(m.name, { input: m.inputPricePerMTok, output: m.outputPricePerMTok });
  }
  return prices;
}

/**
 * What a call cost in USD at `price`. Cached prompt tokens are part of `promptTokens` and billed as
 * input (no cached price is configured anywhere yet). `null` when there are no token counts, or when
 * tokens of a kind were used whose price is unknown: an unknown price is not a price of zero.
 * Rounded to a billionth of a dollar, the stored precision.
 */
export function costUsd(usage: Usage | null, price: ModelPrice | undefined): number | null {
  if (!usage || !price) return null;
  const { promptTokens, completionTokens } = usage;
  if (promptTokens > 0 && price.input === undefined) return null;
  if (completionTokens > 0 && price.output === undefined) return null;
  const usd = (promptTokens * (price.input ?? 0) + completionTokens * (price.output ?? 0)) / 1_000_000;
  return Math.round(usd * 1e9) / 1e9;
}

/**
 * More tokens than any one call has used (contexts and outputs are millions at most): a count past
 * it is an upstream's nonsense, and summed into the daily totals (bigint) it could overflow them and
 * fail every batch that adds to that day.
 */
const MAX_COUNT = 1_000_000_000;
const isCount = (n: unknown): n is number =>
  typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= MAX_COUNT;
const count = (n: number) => (Number.isFinite(n) && n > 0 ? Math.min(MAX_COUNT, Math.round(n)) : 0);
const isPart = (n: number | undefined) => n === undefined || (n >= 0 && n <= MAX_COUNT);

/**
 * The provider's counts as whole, non-negative numbers of at most `MAX_COUNT`: an upstream's
 * negative, fractional or non-finite ones would price a call below zero and fail the usage record's
 * schema (the record would be dropped when stored). The same object when it is already so (the
 * common case).
 */
export function tidyUsage(usage: Usage | null): Usage | null {
  if (!usage) return null;
  const { promptTokens, completionTokens, totalTokens, cachedTokens, reasoningTokens } = usage;
  if (
    isCount(promptTokens) &&
    isCount(completionTokens) &&
    isCount(totalTokens) &&
    isPart(cachedTokens) &&
    isPart(reasoningTokens)
  ) {
    return usage;
  }
  const prompt = count(promptTokens);
  const completion = count(completionTokens);
  const out: Usage = {
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: isCount(totalTokens) ? totalTokens : prompt + completion,
  };
  if (cachedTokens !== undefined && count(cachedTokens) > 0) out.cachedTokens = count(cachedTokens);
  if (reasoningTokens !== undefined && count(reasoningTokens) > 0)
    out.reasoningTokens = count(reasoningTokens);
  return out;
}
