import { setTimeout as delay } from "node:timers/promises";
import type { Propagation } from "@gatehouse/contracts";
import { IngressRoster } from "./confirm.js";
import { type OutboxRelay, type RelayOptions, startOutboxRelay } from "./relay.js";

/** The relay's options (its poll and batch defaults), plus what waiting for the replicas needs. */
export interface AccessEventPublisherOptions extends RelayOptions {
  /** The ingress access lease: how long a revoke waits for the relay, and then for confirmations. */
  leaseMs: number;
  /** Register a closer with the service's shutdown. */
  onStop(name: string, close: () => Promise<void> | void): void;
}

export interface AccessEventPublisher {
  readonly relay: OutboxRelay;
  /**
   * After committing a transaction that appended access events: publish them now and wait until
   * every live ingress replica applied the last one or stopped trusting its cache until it does,
   * or the lease passed. Returns the report a revoking call puts in its response.
   */
  propagate(sequence: number): Promise<Propagation>;
}

/** The outbox relay and the ingress roster a service that removes access needs, wired together. */
export function startAccessEventPublisher(options: AccessEventPublisherOptions): AccessEventPublisher {
  const { source, leaseMs, logger } = options;
  const relay = startOutboxRelay(options);
  options.onStop("outbox-relay", () => relay.stop());
  const roster = new IngressRoster(options.nc, options.prefix, leaseMs);
  options.onStop("ingress-roster", () => roster.close());
  return {
    relay,
    async propagate(sequence) {
      // Bounded: with NATS down the row stays committed and goes out when it returns. A failed or
      // unfinished attempt tells the replicas so, and they stop trusting at once instead of waiting.
      const published = await Promise.race([relay.flush(), delay(leaseMs).then(() => false)]);
      const result = await roster.confirm(source, sequence, published);
      // The confirmed-revoke timing is logged here and returned in the revoking call's response.
      if (result.complete) logger.info({ propagation: result }, "access event confirmed by ingress replicas");
      else if (!published)
        logger.error(
          { propagation: result },
          "access event not in the stream yet: ingress replicas answer from the owning service until it is",
        );
      else logger.warn({ propagation: result }, "not every ingress replica confirmed an access event");
      return result;
    },
  };
}
