import { randomUUID } from "node:crypto";
import type { InvokeMeta, Usage, UsageRecord } from "@gatehouse/contracts";
import { costUsd, type ModelPrice, tidyUsage } from "./cost.js";
import { estimateUsage, type StreamTally } from "./estimate.js";
import type { UsagePublisher } from "./usage.js";

/** What the invoke handler learnt about one call, for its usage record. */
export interface CallOutcome {
  /** The target that answered (or was tried last): the call's own, or the route's. */
  account: string;
  model: string;
  status: number;
  /** As the provider reported it; null when it did not. */
  usage: Usage | null;
  /** `performance.now()` when dispatch received the call. */
  started: number;
  /** `performance.now()` when the first byte of the answer was sent on. */
  firstByteAt: number | undefined;
  /** The provider was called (the call may be billed even if it failed or was cancelled). */
  reachedProvider: boolean;
  /** The caller went away or the call was cancelled. */
  cancelled: boolean;
  price: ModelPrice | undefined;
  body: Record<string, unknown> | undefined;
  tally: StreamTally | undefined;
  /** Hears the record as it is published (metrics), estimated counts included. */
  observe?: (record: UsageRecord) => void;
}

/**
 * A call's usage record, priced at the model's prices of the moment (stored with the record, so a
 * later price change rewrites no history). A call the provider was reached for but that ended
 * without reported usage (cancelled, or failed after its first bytes) gets counts Gatehouse made
 * itself, marked `estimated`; a refused or failed call that sent nothing keeps `usage: null`.
 */
export function recordUsage(usage: UsagePublisher, meta: InvokeMeta, call: CallOutcome): void {
  const record = usageRecordOf(meta, call);
  const unreported =
    call.usage === null && call.reachedProvider && (call.cancelled || call.firstByteAt !== undefined);
  if (!unreported) {
    publish(usage, record, call);
    return;
  }
  // Off the common path: counting may load the tokenizer first. A stop waits for it (hold).
  usage.hold();
  estimateUsage(call.model, call.body, call.tally)
    .then(
      (counted) =>
        publish(
          usage,
          { ...record, usage: counted, costUsd: costUsd(counted, call.price), estimated: true },
          call,
        ),
      () => publish(usage, record, call),
    )
    .finally(() => usage.release());
}

function publish(usage: UsagePublisher, record: UsageRecord, call: CallOutcome): void {
  usage.add(record);
  call.observe?.(record);
}

function usageRecordOf(meta: InvokeMeta, call: CallOutcome): UsageRecord {
  const usage = tidyUsage(call.usage);
  const record: UsageRecord = {
    id: randomUUID(),
    requestId: meta.requestId,
    at: new Date().toISOString(),
    account: call.account,
    model: call.model,
    operation: meta.operation,
    principal: meta.principal,
    keyId: meta.keyId,
    status: call.status,
    stream: meta.stream,
    usage,
    durationMs: Math.round(performance.now() - call.started),
    costUsd: costUsd(usage, call.price),
  };
  if (meta.route !== undefined) record.route = meta.route;
  if (call.firstByteAt !== undefined) record.ttftMs = Math.round(call.firstByteAt - call.started);
  return record;
}
