import { randomUUID } from "node:crypto";
import type { UsageRecord } from "@gatehouse/contracts";

/**
 * A usage record as dispatch makes one per call (always with its id, as dispatch's are);
 * `overrides` for what a test cares about.
 */
export function usageRecord(overrides: Partial<UsageRecord> = {}): UsageRecord & { id: string } {
  return {
    requestId: randomUUID(),
    at: new Date().toISOString(),
    account: "openai-main",
    model: "gpt-4o-mini",
    operation: "chat",
    principal: { id: randomUUID(), kind: "virtual_account" },
    keyId: randomUUID(),
    status: 200,
    stream: false,
    usage: { promptTokens: 3, completionTokens: 5, totalTokens: 8 },
    durationMs: 12,
    costUsd: null,
    ...overrides,
    id: overrides.id ?? randomUUID(),
  };
}
