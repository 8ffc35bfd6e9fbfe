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

/** A cache entry that may be refreshed in the background while it is still used. */
export interface Refreshed {
  /** A background refresh of it failed: not tried again before this time. */
  retryAt?: number;
}

/**
 * Fetch an entry again while calls go on using it, unless a refresh of it failed less than
 * `backoffMs` ago: with the lookup failing at once (its service down or erring), every call of the
 * stale window would otherwise send one of its own.
 */
export function refreshInBackground(
  held: Refreshed,
  now: () => number,
  backoffMs: number,
  fetch: () => Promise<unknown>,
): void {
  if (held.retryAt !== undefined && held.retryAt > now()) return;
  fetch().catch(() => {
    held.retryAt = now() + backoffMs;
  });
}
