import { accessEventStreamName, accessEventSubject } from "@gatehouse/contracts";
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
      // The relay's msg id is `<source>:<sequence>`: a re-publish after a crash is dropped.
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
