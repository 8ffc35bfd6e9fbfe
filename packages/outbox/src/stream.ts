import {
  AccessEventEnvelope,
  accessEventStreamName,
  accessEventSubject,
  type EventSource,
} from "@gatehouse/contracts";
import { type JetStreamManager, nanos, RetentionPolicy, StorageType } from "nats";

/** Create the access-event stream for this prefix if it does not exist yet. */
export async function ensureAccessEventStream(jsm: JetStreamManager, prefix: string): Promise<string> {
  const name = accessEventStreamName(prefix);
  try {
    await jsm.streams.info(name);
    return name;
  } catch {
    // not there yet
  }
  try {
    await jsm.streams.add({
      name,
      subjects: [accessEventSubject(prefix, "*")],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      max_age: nanos(7 * 24 * 3600 * 1000),
      // The relay's msg id is `<source>:<sequence>:<created_at>`: a re-publish after a crash is
      // dropped, but not a new event that reuses a sequence after the source's history was reset.
      duplicate_window: nanos(10 * 60 * 1000),
    });
  } catch (err) {
    // Another replica created it between our info and add.
    await jsm.streams.info(name).catch(() => {
      throw err;
    });
  }
  return name;
}

/** JetStream's "no message found" (JSNoMessageFoundErr). */
const NO_MESSAGE_FOUND = 10037;

/**
 * The sequence of the newest event from `source` the stream holds (0 when it holds none): where a
 * follower stands for that source when it starts reading after the stream's current end.
 */
export async function lastAccessEventSequence(
  jsm: JetStreamManager,
  stream: string,
  prefix: string,
  source: EventSource,
): Promise<number> {
  try {
    const stored = await jsm.streams.getMessage(stream, { last_by_subj: accessEventSubject(prefix, source) });
    return AccessEventEnvelope.parse(stored.json()).sequence;
  } catch (err) {
    if ((err as { api_error?: { err_code?: number } }).api_error?.err_code === NO_MESSAGE_FOUND) return 0;
    throw err;
  }
}
