import { randomUUID } from "node:crypto";
import {
  type InvokeMeta,
  type Usage,
  type UsageRecord,
  UsageRecord as UsageRecordSchema,
} from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { recordUsage } from "./record.js";
import type { UsagePublisher } from "./usage.js";

function publisher(records: UsageRecord[]): UsagePublisher {
  return { add: (r: UsageRecord) => records.push(r), hold() {}, release() {} } as unknown as UsagePublisher;
}

const meta = {
  requestId: randomUUID(),
  operation: "chat",
  dialect: "openai",
  stream: false,
  principal: { kind: "user", id: randomUUID() },
  keyId: randomUUID(),
} as unknown as InvokeMeta;

/** The record of a call answered with `usage`, at $1 / $2 per million tokens. */
function recordOf(usage: Usage): UsageRecord {
  const records: UsageRecord[] = [];
  recordUsage(publisher(records), meta, {
    account: "openai-main",
    model: "gpt-4o-mini",
    status: 200,
    usage,
    started: performance.now(),
    firstByteAt: performance.now(),
    reachedProvider: true,
    cancelled: false,
    price: { input: 1, output: 2 },
    body: undefined,
    tally: undefined,
  });
  expect(records).toHaveLength(1);
  return records[0] as UsageRecord;
}

describe("a usage record of counts an upstream reported", () => {
  it("keeps the call with whole, non-negative counts however odd the provider's numbers", () => {
    const r = recordOf({
      promptTokens: -3,
      completionTokens: 2.6,
      totalTokens: Number.NaN,
      cachedTokens: -1,
    });
    expect(r.usage).toEqual({ promptTokens: 0, completionTokens: 3, totalTokens: 3 });
    expect(r.costUsd).toBe(0.000006);
    expect(UsageRecordSchema.safeParse(r).success).toBe(true);
  });

  it("caps a count no call can reach, so the totals' sums cannot overflow", () => {
    const r = recordOf({
      promptTokens: Number.MAX_SAFE_INTEGER,
      completionTokens: 5,
      totalTokens: Number.MAX_SAFE_INTEGER,
    });
    expect(r.usage).toEqual({ promptTokens: 1_000_000_000, completionTokens: 5, totalTokens: 1_000_000_005 });
    expect(UsageRecordSchema.safeParse(r).success).toBe(true);
  });
});
