import type { BusClient } from "@gatehouse/bus";
import { CATALOG_REQUEST_TIMEOUT_MS, dispatchCatalogRoutes, type ModelKind } from "@gatehouse/contracts";
import { LruMap } from "../cache/lru.js";
import { type Refreshed, refreshInBackground, SharedLookups } from "../cache/shared.js";
import type { AccessFeed } from "../events/feed.js";

export interface RouteEntry {
  readonly name: string;
  readonly kind: ModelKind;
  /** Unix seconds, for `created` in the model list. */
  readonly created: number;
}

export interface RouteCatalogOptions {
  /** How long a fetched route is used while the access feed is trusted. */
  ttlMs: number;
  /**
   * After `ttlMs`, how much longer the route is still used, while the feed is trusted, as it is
   * fetched again in the background (as accounts are, see CatalogOptions.staleMs): without it, every
   * call that arrived while the refresh was on its way waited for it, and each asked on its own.
   */
  staleMs: number;
  /** An unknown name is remembered this long (a route created through another replica is found within it). */
  missMs: number;
  /** How long a lookup waits for dispatch (default: past dispatch's own bound on the read, see contracts). */
  timeoutMs?: number;
  max?: number;
  now?: () => number;
}

/**
 * Route names as a call resolves them: whether one exists and its kind (never its targets, which
 * only dispatch reads). Kept for `ttlMs` while the feed is trusted, then used for up to `staleMs`
 * more while it is fetched again; dropped by the route's `route.deleted`/`route.updated` event and
 * all at once when the feed resets. An unknown name is remembered for `missMs`. Concurrent lookups
 * of one name share one request while the feed is trusted and no event was applied since it left.
 * Bounded: made-up names never evict real ones.
 */
export class RouteCatalog {
  private readonly known: LruMap<string, { entry: RouteEntry; at: number } & Refreshed>;
  private readonly unknown: LruMap<string, number>;
  private readonly inflight: SharedLookups<string, RouteEntry | undefined>;
  private readonly now: () => number;
  /** Moves on every `drop`, so an answer fetched before a local admin change is not kept. */
  private generation = 0;

  constructor(
    private readonly client: BusClient,
    private readonly feed: AccessFeed,
    private readonly options: RouteCatalogOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.inflight = new SharedLookups(feed);
    this.known = new LruMap(options.max ?? 10_000);
    this.unknown = new LruMap(options.max ?? 10_000);
    feed.onEvent(({ event }) => {
      if (event.type === "route.deleted" || event.type === "route.updated") this.drop(event.route);
    });
    feed.onReset(() => this.known.clear());
  }

  drop(name: string): void {
    this.generation++;
    this.known.delete(name);
    this.unknown.delete(name);
    this.inflight.delete(name);
  }

  /**
   * The route (`undefined`: no such route). A fresh cached answer is returned as is, not wrapped in
   * a promise: the hot path awaits nothing of its own when the route is known.
   */
  lookup(name: string): RouteEntry | undefined | Promise<RouteEntry | undefined> {
    const now = this.now();
    const cached = this.known.get(name);
    if (cached && this.feed.trusted()) {
      const age = now - cached.at;
      if (age <= this.options.ttlMs) return cached.entry;
      if (age <= this.options.ttlMs + this.options.staleMs) {
        refreshInBackground(cached, this.now, this.options.missMs, () => this.fetch(name));
        return cached.entry;
      }
    }
    // An unknown name only ever refuses, so it may be used whether or not the feed is trusted.
    const unknownUntil = this.unknown.get(name);
    if (!cached && unknownUntil !== undefined && unknownUntil > now) return undefined;
    return this.fetch(name);
  }

  /** How many names are cached (known and unknown). */
  get size(): number {
    return this.known.size + this.unknown.size;
  }

  async find(name: string): Promise<RouteEntry | undefined> {
    return this.lookup(name);
  }

  /** One lookup for the calls that ask together (see SharedLookups). */
  private fetch(name: string): Promise<RouteEntry | undefined> {
    const generation = this.generation;
    return this.inflight.share(name, async (epoch) => {
      const { routes } = await this.client.request(
        dispatchCatalogRoutes,
        { names: [name] },
        { timeoutMs: this.options.timeoutMs ?? CATALOG_REQUEST_TIMEOUT_MS },
      );
      const found = routes.find((r) => r.name === name);
      const entry = found
        ? { name: found.name, kind: found.kind, created: Math.floor(Date.parse(found.createdAt) / 1000) }
        : undefined;
      // An answer fetched while an event was applied may predate it: use it once, do not keep it.
      if (this.feed.epoch() !== epoch || this.generation !== generation) return entry;
      if (entry) {
        this.unknown.delete(name);
        if (this.feed.trusted()) this.known.set(name, { entry, at: this.now() });
      } else {
        this.known.delete(name);
        this.unknown.set(name, this.now() + this.options.missMs);
      }
      return entry;
    });
  }
}
