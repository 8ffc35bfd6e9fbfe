import type { AccessEventEnvelope } from "@gatehouse/contracts";

/**
 * The access-event feed as ingress caches see it. Caches register listeners to drop entries an
 * event affects, and consult `trusted()` before answering from a cached positive.
 */
export interface AccessFeed {
  /**
   * True while cached positive answers may be used: the feed has been heard within the lease and
   * there is no unresolved gap. When false, callers must ask the owning service every time.
   */
  trusted(): boolean;
  /**
   * Increments on every applied event and every reset. A cache must not store an answer fetched
   * while the epoch moved (the answer may predate a revocation applied meanwhile).
   */
  epoch(): number;
  /** Called for every event, in sequence order per source, after it is applied. */
  onEvent(listener: (envelope: AccessEventEnvelope) => void): () => void;
  /** Called when positives can no longer be trusted (gap, reconnect, lease lost): drop them all. */
  onReset(listener: () => void): () => void;
}
