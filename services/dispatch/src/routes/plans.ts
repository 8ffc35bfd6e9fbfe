import { eq, inArray } from "drizzle-orm";
import type { DispatchDb } from "../accounts/context.js";
import { modelRoutes, providerAccounts } from "../db/schema.js";
import { planOf, type RoutePlan } from "./store.js";

interface Entry {
  plan: Promise<RoutePlan | undefined>;
  /** The plan once loaded: the hot path reads it without awaiting a promise. */
  loaded?: RoutePlan | undefined;
  loadedAt: number;
  /** Past its TTL, the plan is being read again (and is used until then, at most one more TTL). */
  refreshing?: boolean;
}

/**
 * Routes as the invoke path runs them, read from this service's own tables and kept briefly. A
 * target whose account no longer holds the model with the route's kind is left out of the plan
 * (an account's models can change under a route). Changes made through the admin API reach every
 * replica at once (`route.updated`/`route.deleted`, account disable/delete events); the TTL bounds
 * anything else: past it, the next call starts reading the plan again and calls go on with the one
 * they have until the new one is there (rather than all waiting on the database every TTL), for at
 * most one more TTL: a read that has not answered by then (a database that hangs) is given up and
 * calls wait on a new one — so a plan is never used longer than twice its TTL.
 */
export class RoutePlans {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly db: DispatchDb,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(name: string): Promise<RoutePlan | undefined> {
    const entry = this.entries.get(name);
    if (entry) {
      const age = this.now() - entry.loadedAt;
      if (age <= this.ttlMs || (entry.refreshing && age <= 2 * this.ttlMs)) return entry.plan;
    }
    return this.start(name).plan;
  }

  /**
   * The route's plan when one is loaded (and fresh, or being read again and less than two TTLs
   * old); `undefined` means: ask `get`.
   */
  peek(name: string): RoutePlan | undefined {
    const entry = this.entries.get(name);
    if (entry === undefined || entry.loaded === undefined) return undefined;
    const age = this.now() - entry.loadedAt;
    if (age > this.ttlMs) {
      if (age > 2 * this.ttlMs) return undefined;
      if (!entry.refreshing) this.refresh(name, entry);
    }
    return entry.loaded;
  }

  drop(name: string): void {
    this.entries.delete(name);
  }

  clear(): void {
    this.entries.clear();
  }

  private start(name: string): Entry {
    const plan = this.load(name);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const created: Entry = { plan, loadedAt: this.now() };
    this.entries.set(name, created);
    plan.then(
      (loaded) => {
        created.loaded = loaded;
      },
      () => {
        if (this.entries.get(name) === created) this.entries.delete(name);
      },
    );
    return created;
  }

  /**
   * Reads an expired plan again while calls keep using it. The new plan replaces it only if nothing
   * dropped it meanwhile (an event that came during the read may be newer than what was read); a
   * failed read drops it, so the next call reads the plan itself and sees the error.
   */
  private refresh(name: string, stale: Entry): void {
    stale.refreshing = true;
    this.load(name).then(
      (loaded) => {
        if (this.entries.get(name) !== stale) return;
        this.entries.set(name, { plan: Promise.resolve(loaded), loaded, loadedAt: this.now() });
      },
      () => {
        if (this.entries.get(name) === stale) this.entries.delete(name);
      },
    );
  }

  /** The plan as the tables hold it now (protected: a test counts and holds the reads). */
  protected async load(name: string): Promise<RoutePlan | undefined> {
    const [row] = await this.db.select().from(modelRoutes).where(eq(modelRoutes.name, name));
    if (!row) return undefined;
    const accounts = await this.db
      .select({ name: providerAccounts.name, models: providerAccounts.models })
      .from(providerAccounts)
      .where(inArray(providerAccounts.name, row.accounts));
    const models = new Map(accounts.map((a) => [a.name, a.models]));
    return planOf(
      row,
      (account, model) => models.get(account)?.some((m) => m.name === model && m.kind === row.kind) === true,
    );
  }
}
