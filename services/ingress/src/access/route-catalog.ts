import type { BusClient } from "@gatehouse/bus";
import { dispatchCatalogRoutes, type ModelKind } from "@gatehouse/contracts";
import { LruMap } from "../cache/lru.js";
import type { AccessFeed } from "../events/feed.js";

export interface RouteEntry {
  readonly name: string;
  readonly kind: ModelKind;
  /** Unix seconds, for `created` in the model list. */
  readonly created: number;
}

/**
 * Route names as a call resolves them: whether one exists and its kind (never its targets, which
 * only dispatch reads). Kept for `ttlMs` while the feed is trusted, dropped by the route's
 * `route.deleted` event; an unknown name is remembered for `missMs` (a route created through
 * another replica is found within it). Bounded: made-up names never evict real ones.
 */
export class RouteCatalog {
  private readonly known: LruMap<string, { entry: RouteEntry; at: number }>;
  private readonly unknown: LruMap<string, number>;

  constructor(
    private readonly client: BusClient,
    private readonly feed: AccessFeed,
    private readonly ttlMs: number,
    private readonly missMs: number,
    max = 10_000,
  ) {
    this.known = new LruMap(max);
    this.unknown = new LruMap(max);
    feed.onEvent(({ event }) => {
      if (event.type === "route.deleted" || event.type === "route.updated") this.drop(event.route);
    });
    feed.onReset(() => this.known.clear());
  }

  drop(name: string): void {
    this.known.delete(name);
    this.unknown.delete(name);
  }

  async find(name: string): Promise<RouteEntry | undefined> {
    const now = Date.now();
    const cached = this.known.get(name);
    if (cached && this.feed.trusted() && now - cached.at <= this.ttlMs) return cached.entry;
    const unknownUntil = this.unknown.get(name);
    if (!cached && unknownUntil !== undefined && unknownUntil > now) return undefined;
    const epoch = this.feed.epoch();
    const { routes } = await this.client.request(dispatchCatalogRoutes, { names: [name] });
    const found = routes.find((r) => r.name === name);
    const entry = found
      ? { name: found.name, kind: found.kind, created: Math.floor(Date.parse(found.createdAt) / 1000) }
      : undefined;
    if (this.feed.epoch() !== epoch) return entry;
    if (entry) {
      this.unknown.delete(name);
      if (this.feed.trusted()) this.known.set(name, { entry, at: Date.now() });
    } else {
      this.known.delete(name);
      this.unknown.set(name, Date.now() + this.missMs);
    }
    return entry;
  }
}
