import type { AccessFeed } from "../events/feed.js";

/**
 * Lookups on their way, one per key, shared by the calls that ask for the same while the access
 * feed is trusted and no event was applied since the shared one left: an answer read before an
 * event (a disable, a delete) must not reach a call made after it. Under a burst, every call of it
 * asking on its own sent as many requests to a service that was busy with the burst.
 */
export class SharedLookups<K, V> {
  private readonly running = new Map<K, { epoch: number; run: Promise<V> }>();

  constructor(private readonly feed: AccessFeed) {}

  /** The lookup on its way for `key` if it may be shared, else `start(epoch)`'s (shared from now on). */
  share(key: K, start: (epoch: number) => Promise<V>): Promise<V> {
    const epoch = this.feed.epoch();
    const trusted = this.feed.trusted();
    const running = trusted ? this.running.get(key) : undefined;
    if (running && running.epoch === epoch) return running.run;
    const run = start(epoch);
    if (!trusted) return run;
    const shared = { epoch, run };
    this.running.set(key, shared);
    void run
      .finally(() => {
        if (this.running.get(key) === shared) this.running.delete(key);
      })
      .catch(() => {});
    return run;
  }

  /** Forget the lookup on its way for `key`: later calls ask again. */
  delete(key: K): void {
    this.running.delete(key);
  }
}
