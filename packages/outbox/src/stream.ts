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

/** JetStream's "stream not found" (JSStreamNotFoundErr). */
const STREAM_NOT_FOUND = 10059;

/**
 * Wait for the access-event stream that auth, acl and dispatch create, without creating it: a
 * follower (ingress) needs only to read it, and whoever may create a stream chooses its whole
 * configuration — a `republish` would have the server publish on subjects that user may not.
 * Throws once `timeoutMs` has passed; `onWait` is called once, when the first look finds nothing.
 */
export async function awaitAccessEventStream(
  jsm: JetStreamManager,
  prefix: string,
  options: { timeoutMs: number; pollMs?: number; onWait?: () => void; stopped?: () => boolean },
): Promise<string> {
  const name = accessEventStreamName(prefix);
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await jsm.streams.info(name);
      return name;
    } catch (err) {
      if ((err as { api_error?: { err_code?: number } }).api_error?.err_code !== STREAM_NOT_FOUND) throw err;
    }
    if (attempt === 0) options.onWait?.();
    if (Date.now() >= deadline || options.stopped?.()) {
      throw new Error(
        `the access-event stream ${name} does not exist: auth, acl and dispatch create it when they start`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
  }
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
