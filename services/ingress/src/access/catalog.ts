import type { BusClient } from "@gatehouse/bus";
import {
  CATALOG_REQUEST_TIMEOUT_MS,
  type CatalogAccount,
  dispatchCatalogAccount,
  type ModelKind,
} from "@gatehouse/contracts";
import { LruMap } from "../cache/lru.js";
import { type Refreshed, refreshInBackground, SharedLookups } from "../cache/shared.js";
import type { AccessFeed } from "../events/feed.js";

export interface CatalogOptions {
  /** How long a fetched account is used while the access feed is trusted. */
  ttlMs: number;
  /**
   * After `ttlMs`, how much longer the account is still used, while the feed is trusted, as it is
   * fetched again in the background (default 0: calls wait for the fetch). Under a burst, a lookup
   * that every waiting call shares goes to a dispatch that is busy with the burst; when it timed out
   * (3 s), every call waiting on it failed with 504.
   */
  staleMs?: number;
  /**
   * A cached account that does not list the model asked for, or is disabled, is fetched again once
   * it is this old; an unknown account is remembered this long. Additions (an account, a model, a
   * re-enable) made through another replica are seen within it.
   */
  missRefreshMs: number;
  /** Bound on the cache: the models of all cached accounts (each account weighs 1 + its models). */
  maxModels: number;
  /** Bound on remembered unknown account names, kept apart so made-up names never evict real ones. */
  maxUnknown?: number;
  /** How long a lookup waits for dispatch (default: past dispatch's own bound on the read, see contracts). */
  timeoutMs?: number;
  now?: () => number;
}

/** One provider account as a call resolves against it. */
export interface CatalogEntry {
  readonly name: string;
  readonly enabled: boolean;
  /** Unix seconds, for `created` in the model list. */
  readonly created: number;
  readonly models: ReadonlyMap<string, ModelKind>;
  /** USD per million tokens of the models that have prices: what a budget pre-charges. */
  readonly prices: ReadonlyMap<string, ModelPrice>;
}

export interface ModelPrice {
  readonly input: number;
  readonly output: number;
}

function pricesOf(models: CatalogAccount["models"]): Map<string, ModelPrice> {
  const prices = new Map<string, ModelPrice>();
  for (const m of models) {
    if (m.inputPricePerMTok === undefined && m.outputPricePerMTok === undefined) continue;
    prices.set(m.name, { input: m.inputPricePerMTok ?? 0, output: m.outputPricePerMTok ?? 0 });
  }
  return prices;
}

interface Cached extends Refreshed {
  entry: CatalogEntry;
  fetchedAt: number;
}

function toEntry(a: CatalogAccount): CatalogEntry {
  return {
    name: a.name,
    enabled: a.enabled,
    created: Math.floor(Date.parse(a.createdAt) / 1000),
    models: new Map(a.models.map((m) => [m.name, m.kind])),
    prices: pricesOf(a.models),
  };
}

/**
 * The provider-account catalog, one account at a time: a call looks up its own account (one
 * `dispatch.catalog.account` round trip when cold), so the size of the whole catalog never matters.
 * Whether an account is enabled is an access fact: a cached entry is used only while the feed is
 * trusted and is dropped by that account's events. Unknown names are remembered briefly in a
 * bounded map of their own. Concurrent lookups of one account share one request while the feed is
 * trusted and no event was applied since it left.
 */
export class CatalogCache {
  private readonly known: LruMap<string, Cached>;
  private readonly unknown: LruMap<string, number>;
  /** Lookups on their way, with the feed epoch each left at (shared only while it has not moved). */
  private readonly inflight: SharedLookups<string, CatalogEntry | undefined>;
  private readonly now: () => number;
  /** Moves on every `drop`, so an answer fetched before a local admin change is not kept. */
  private generation = 0;

  constructor(
    private readonly client: BusClient,
    private readonly feed: AccessFeed,
    private readonly options: CatalogOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.inflight = new SharedLookups(feed);
    this.known = new LruMap(options.maxModels);
    this.unknown = new LruMap(options.maxUnknown ?? 10_000);
    feed.onEvent(({ event }) => {
      if (event.type === "account.disabled" || event.type === "account.deleted") this.drop(event.account);
    });
    feed.onReset(() => this.known.clear());
  }

  /** Forget one account (an admin change made through this replica), so the next lookup asks. */
  drop(name: string): void {
    this.generation++;
    this.known.delete(name);
    this.unknown.delete(name);
    this.inflight.delete(name);
  }

  /** Whether `name` was found not to exist less than `missRefreshMs` ago (answered without a lookup). */
  knownMissing(name: string): boolean {
    const until = this.unknown.get(name);
    return until !== undefined && until > this.now() && this.known.get(name) === undefined;
  }

  /** How many accounts are cached (known and unknown). */
  get size(): number {
    return this.known.size + this.unknown.size;
  }

  /**
   * The account (`undefined`: no such account). `model` is the model the caller asked for: a cached
   * entry that does not list it is refetched when older than `missRefreshMs`, so a model added
   * through another replica is found without waiting for the TTL.
   */
  async find(name: string, model?: string): Promise<CatalogEntry | undefined> {
    const now = this.now();
    const cached = this.known.get(name);
    if (cached && this.feed.trusted()) {
      const age = now - cached.fetchedAt;
      const missed = !cached.entry.enabled || (model !== undefined && !cached.entry.models.has(model));
      if (!(missed && age >= this.options.missRefreshMs)) {
        if (age <= this.options.ttlMs) return cached.entry;
        if (age <= this.options.ttlMs + (this.options.staleMs ?? 0)) {
          refreshInBackground(cached, this.now, this.options.missRefreshMs, () => this.fetch(name));
          return cached.entry;
        }
      }
    }
    // An unknown name only ever refuses, so it may be used whether or not the feed is trusted.
    const unknownUntil = this.unknown.get(name);
    if (!cached && unknownUntil !== undefined && unknownUntil > now) return undefined;
    return this.fetch(name);
  }

  /**
   * Lookups are shared only while the feed is trusted and no event was applied since the shared one
   * left: an account disabled while this replica could not hear it is disabled for good once the
   * disable returned (by lease), and a lookup that left before then may have read it enabled.
   */
  private fetch(name: string): Promise<CatalogEntry | undefined> {
    const generation = this.generation;
    return this.inflight.share(name, async (epoch) => {
      const { account } = await this.client.request(
        dispatchCatalogAccount,
        { name },
        { timeoutMs: this.options.timeoutMs ?? CATALOG_REQUEST_TIMEOUT_MS },
      );
      const now = this.now();
      const entry = account ? toEntry(account) : undefined;
      // An answer fetched while an event was applied may predate it: use it once, do not keep it.
      if (this.feed.epoch() !== epoch || this.generation !== generation) return entry;
      if (entry) {
        this.unknown.delete(name);
        // Fetched while the feed is untrusted, it may predate an event not received yet: not kept.
        if (this.feed.trusted()) this.known.set(name, { entry, fetchedAt: now }, 1 + entry.models.size);
      } else {
        this.known.delete(name);
        this.unknown.set(name, now + this.options.missRefreshMs);
      }
      return entry;
    });
  }
}
