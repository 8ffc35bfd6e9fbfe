import { eq, inArray } from "drizzle-orm";
import type { DispatchDb } from "../accounts/context.js";
import { modelRoutes, providerAccounts } from "../db/schema.js";
import { planOf, type RoutePlan } from "./store.js";

interface Entry {
  plan: Promise<RoutePlan | undefined>;
  /** The plan once loaded: the hot path reads it without awaiting a promise. */
  loaded?: RoutePlan | undefined;
  loadedAt: number;
}

/**
 * Routes as the invoke path runs them, read from this service's own tables and kept briefly. A
 * target whose account no longer holds the model with the route's kind is left out of the plan
 * (an account's models can change under a route). Changes made through the admin API reach every
 * replica at once (`route.updated`/`route.deleted`, account disable/delete events); the TTL bounds
 * anything else.
 */
export class RoutePlans {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly db: DispatchDb,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(name: string): Promise<RoutePlan | undefined> {
    const entry = this.entries.get(name);
    if (entry && Date.now() - entry.loadedAt <= this.ttlMs) return entry.plan;
    const plan = this.load(name);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const created: Entry = { plan, loadedAt: Date.now() };
    this.entries.set(name, created);
    plan.then(
      (loaded) => {
        created.loaded = loaded;
      },
      () => {
        if (this.entries.get(name) === created) this.entries.delete(name);
      },
    );
    return plan;
  }

  /** The route's plan when one is loaded and fresh; `undefined` means: ask `get`. */
  peek(name: string): RoutePlan | undefined {
    const entry = this.entries.get(name);
    return entry && Date.now() - entry.loadedAt <= this.ttlMs ? entry.loaded : undefined;
  }

  drop(name: string): void {
    this.entries.delete(name);
  }

  clear(): void {
    this.entries.clear();
  }

  private async load(name: string): Promise<RoutePlan | undefined> {
    const [row] = await this.db.select().from(modelRoutes).where(eq(modelRoutes.name, name));
    if (!row) return undefined;
    const accounts = await this.db
      .select({ name: providerAccounts.name, models: providerAccounts.models })
      .from(providerAccounts)
      .where(inArray(providerAccounts.name, row.accounts));
    const models = new Map(accounts.map((a) => [a.name, a.models]));
    const plan = planOf(row);
    return {
      ...plan,
      targets: plan.targets.filter((t) =>
        models.get(t.account)?.some((m) => m.name === t.model && m.kind === plan.kind),
      ),
    };
  }
}
