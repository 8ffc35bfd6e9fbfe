import type { AccessEventBody, AccessEventEnvelope } from "@gatehouse/contracts";
import type { AccessFeed } from "../src/events/feed.js";

/** An access feed under a unit test's control: trust, events and resets. */
export function fakeFeed() {
  let trusted = true;
  let epoch = 1;
  let seq = 0;
  const events = new Set<(e: AccessEventEnvelope) => void>();
  const resets = new Set<() => void>();
  const feed: AccessFeed = {
    trusted: () => trusted,
    sourceTrust: () => ({ auth: trusted, acl: trusted, dispatch: trusted }),
    epoch: () => epoch,
    onEvent(l) {
      events.add(l);
      return () => events.delete(l);
    },
    onReset(l) {
      resets.add(l);
      return () => resets.delete(l);
    },
  };
  return {
    feed,
    setTrusted: (v: boolean) => {
      trusted = v;
    },
    emit(event: AccessEventBody, source: AccessEventEnvelope["source"] = "acl") {
      epoch++;
      for (const l of events) l({ source, sequence: ++seq, at: new Date().toISOString(), event });
    },
    reset() {
      epoch++;
      for (const l of resets) l();
    },
  };
}
