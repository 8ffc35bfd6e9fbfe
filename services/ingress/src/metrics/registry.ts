import type { AccessEventEnvelope } from "@gatehouse/contracts";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { AccessFeed } from "../events/feed.js";

/**
 * Seconds from an access event's commit to this replica applying it. Buckets reach past the
 * default 2 s lease: a sample there means the replica was cut off and distrusted its cache meanwhile.
 */
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

export interface IngressMetrics {
  readonly registry: Registry;
  /** Stop listening to the feed. */
  close(): void;
}

/**
 * The access feed's series, in the ingress app's registry (not prom-client's global one, so several
 * replicas in one process do not clash). Samples come from feed listeners only.
 */
export function createIngressMetrics(feed: AccessFeed, registry: Registry): IngressMetrics {
  const lag = new Histogram({
    name: "gatehouse_access_event_lag_seconds",
    help: "Time from an access event's commit (its outbox row) to this ingress replica applying it",
    labelNames: ["source", "type"] as const,
    buckets: LAG_BUCKETS,
    registers: [registry],
  });
  const applied = new Gauge({
    name: "gatehouse_access_event_last_sequence",
    help: "Last access-event sequence this replica applied, per source service",
    labelNames: ["source"] as const,
    registers: [registry],
  });
  const resets = new Counter({
    name: "gatehouse_access_feed_resets_total",
    help: "Times this replica dropped every cached positive (gap, disconnect, events lost from the stream)",
    registers: [registry],
  });
  new Gauge({
    name: "gatehouse_access_feed_trusted",
    help: "1 while this replica may answer from cached positives (every source trusted), else 0",
    registers: [registry],
    collect() {
      this.set(feed.trusted() ? 1 : 0);
    },
  });
  new Gauge({
    name: "gatehouse_access_feed_source_trusted",
    help: "Per source service: 1 while it is heard within the lease and nothing it committed is missing here, else 0",
    labelNames: ["source"] as const,
    registers: [registry],
    collect() {
      for (const [source, ok] of Object.entries(feed.sourceTrust())) this.set({ source }, ok ? 1 : 0);
    },
  });

  const offEvent = feed.onEvent((e: AccessEventEnvelope) => {
    const committed = Date.parse(e.at);
    if (Number.isFinite(committed)) {
      lag.observe({ source: e.source, type: e.event.type }, Math.max(0, Date.now() - committed) / 1000);
    }
    applied.set({ source: e.source }, e.sequence);
  });
  const offReset = feed.onReset(() => resets.inc());
  return {
    registry,
    close() {
      offEvent();
      offReset();
    },
  };
}
