import type { AccessEventEnvelope, EventSource } from "@gatehouse/contracts";

/**
 * The access-event feed as ingress caches see it. Caches register listeners to drop entries an
 * event affects, and consult `trusted()` before answering from — or storing — a cached positive.
 */
export interface AccessFeed {
  /**
   * True while cached positive answers may be used: every source has been heard within the lease,
   * nothing it committed is missing for longer than that, and there is no unresolved gap. When
   * false, callers must ask the owning service every time.
   */
  trusted(): boolean;
  /** The same, per source (for metrics: which source a replica is waiting for). */
  sourceTrust(): Readonly<Record<EventSource, boolean>>;
  /**
   * Increments on every applied event and every reset. A cache must not store an answer fetched
   * while the epoch moved (the answer may predate a revocation applied meanwhile).
   */
  epoch(): number;
  /** Called for every event, in sequence order per source, after it is applied. */
  onEvent(listener: (envelope: AccessEventEnvelope) => void): () => void;
  /** Called when positives can no longer be trusted (gap, reconnect, lost events): drop them all. */
  onReset(listener: () => void): () => void;
}
