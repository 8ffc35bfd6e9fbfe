import type { BusClient } from "@gatehouse/bus";
import { type CatalogAccount, dispatchCatalog } from "@gatehouse/contracts";
import type { AccessFeed } from "../events/feed.js";

export interface CatalogOptions {
  /** How long a fetched catalog is used while the access feed is trusted. */
  ttlMs: number;
  /** A miss on a cached catalog refetches at most this often (a new account, a new model). */
  missRefreshMs: number;
  now?: () => number;
}

interface Snapshot {
  fetchedAt: number;
  accounts: Map<string, CatalogAccount>;
}

/**
 * The provider-account catalog dispatch serves, cached. Whether an account is enabled is an access
 * fact, so the cached copy is used only while the feed is trusted and is dropped on account events;
 * otherwise every lookup asks dispatch (concurrent lookups share one request).
 */
export class CatalogCache {
  private snapshot: Snapshot | undefined;
  private inflight: Promise<Snapshot> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly client: BusClient,
    private readonly feed: AccessFeed,
    private readonly options: CatalogOptions,
  ) {
    this.now = options.now ?? Date.now;
    feed.onEvent((e) => {
      if (e.event.type === "account.disabled" || e.event.type === "account.deleted") this.drop();
    });
    feed.onReset(() => this.drop());
  }

  drop(): void {
    this.snapshot = undefined;
  }

  private fresh(): Snapshot | undefined {
    const s = this.snapshot;
    if (!s || !this.feed.trusted() || this.now() - s.fetchedAt > this.options.ttlMs) return undefined;
    return s;
  }

  private fetch(): Promise<Snapshot> {
    if (this.inflight) return this.inflight;
    const epoch = this.feed.epoch();
    const run = (async () => {
      const answer = await this.client.request(dispatchCatalog, {});
      const snapshot: Snapshot = {
        fetchedAt: this.now(),
        accounts: new Map(answer.accounts.map((a) => [a.name, a])),
      };
      // An answer fetched while an event was applied may predate it, and one fetched while the feed
      // is untrusted may predate an event not received yet: use it once, do not keep it.
      if (this.feed.epoch() === epoch && this.feed.trusted()) this.snapshot = snapshot;
      return snapshot;
    })();
    this.inflight = run;
    void run
      .finally(() => {
        if (this.inflight === run) this.inflight = undefined;
      })
      .catch(() => {});
    return run;
  }

  /** Every account, from cache when it may be used. */
  async all(): Promise<CatalogAccount[]> {
    return [...(this.fresh() ?? (await this.fetch())).accounts.values()];
  }

  /**
   * The account, when it lists `model`. A miss on a cached copy refetches (rate-limited) so an
   * account or model added on another replica is found without waiting for the TTL.
   */
  async find(account: string, model: string): Promise<{ account?: CatalogAccount; listed: boolean }> {
    let snap = this.fresh();
    const cached = snap !== undefined;
    snap ??= await this.fetch();
    let entry = snap.accounts.get(account);
    let listed = entry?.models.some((m) => m.name === model) ?? false;
    if (!listed && cached && this.now() - snap.fetchedAt >= this.options.missRefreshMs) {
      snap = await this.fetch();
      entry = snap.accounts.get(account);
      listed = entry?.models.some((m) => m.name === model) ?? false;
    }
    return entry ? { account: entry, listed } : { listed: false };
  }
}
