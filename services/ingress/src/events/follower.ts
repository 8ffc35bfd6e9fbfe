import type { AccessEventEnvelope } from "@gatehouse/contracts";
import type { AccessFeed } from "./feed.js";

// Replaced by the revocation work: follows the access-event stream with a lease.
export function createAccessFeed(): AccessFeed & { start(): Promise<void>; stop(): Promise<void> } {
  let epoch = 0;
  const eventListeners = new Set<(e: AccessEventEnvelope) => void>();
  const resetListeners = new Set<() => void>();
  return {
    trusted: () => false,
    epoch: () => epoch,
    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
    onReset(listener) {
      resetListeners.add(listener);
      return () => resetListeners.delete(listener);
    },
    async start() {
      epoch++;
    },
    async stop() {},
  };
}
