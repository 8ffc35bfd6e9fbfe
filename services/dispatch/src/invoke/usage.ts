import { encodeJson } from "@gatehouse/bus";
import { type UsageRecord, usageStreamName, usageSubject } from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import { type JetStreamManager, type NatsConnection, nanos, RetentionPolicy, StorageType } from "nats";

/** The usage stream buffers records until a dispatch instance has stored them (work-queue retention). */
export async function ensureUsageStream(jsm: JetStreamManager, prefix: string): Promise<string> {
  const name = usageStreamName(prefix);
  try {
    await jsm.streams.info(name);
    return name;
  } catch {
    // create below
  }
  try {
    await jsm.streams.add({
      name,
      subjects: [usageSubject(prefix)],
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
      max_age: nanos(7 * 24 * 3600 * 1000),
      duplicate_window: nanos(2 * 60 * 1000),
    });
  } catch (err) {
    await jsm.streams.info(name).catch(() => {
      throw err;
    });
  }
  return name;
}

/** Publish a usage record off the request path; a failure is logged, never surfaced to the caller. */
export function publishUsage(nc: NatsConnection, prefix: string, record: UsageRecord, logger: Logger): void {
  nc.jetstream()
    .publish(usageSubject(prefix), encodeJson(record), { msgID: record.requestId })
    .catch((err: unknown) => logger.warn({ err, requestId: record.requestId }, "usage record not published"));
}
