import type { BusClient } from "@gatehouse/bus";
import {
  type AccessEventBody,
  aclQuotaBudgets,
  aclQuotaRules,
  type BudgetRule,
  type RateLimitRule,
  type RateLimitSubject,
} from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import type { AccessFeed } from "../events/feed.js";

/** A default limit (no subject id) is filed under its kind with this id, which no UUID can be. */
const DEFAULT = "*";
const subjectKey = (kind: string, id: string | null) => `${kind}:${id ?? DEFAULT}`;

type Page<R> = { rules: R[]; next: string | null };
/** A rule of a book: on one subject, or (rate limits only, `id: null`) the default of a kind. */
type BookRule = { id: string; subject: RateLimitSubject };

/** What a book holds and how it hears of it: one kind of rule (rate limits, budgets). */
export interface BookKind<R extends BookRule> {
  /** For the log line. */
  name: string;
  page(client: BusClient, after: string | undefined): Promise<Page<R>>;
  /** What an access event does to the book: a rule to put, an id to drop, or nothing. */
  change(event: AccessEventBody): { put: R } | { remove: string } | undefined;
}

export const RATE_LIMITS: BookKind<RateLimitRule> = {
  name: "rateLimits",
  page: (client, after) => client.request(aclQuotaRules, after === undefined ? {} : { after }),
  change: (event) =>
    event.type === "rate_limit.changed"
      ? { put: event.limit }
      : event.type === "rate_limit.deleted"
        ? { remove: event.limitId }
        : undefined,
};

export const BUDGETS: BookKind<BudgetRule> = {
  name: "budgets",
  page: (client, after) => client.request(aclQuotaBudgets, after === undefined ? {} : { after }),
  change: (event) =>
    event.type === "budget.changed"
      ? { put: event.budget }
      : event.type === "budget.deleted"
        ? { remove: event.budgetId }
        : undefined,
};

/**
 * Every rate limit (or budget) of the gateway, indexed by subject: loaded from acl (`quota.rules`,
 * `quota.budgets`) on first use and after a feed reset, and kept current by `rate_limit.*` and
 * `budget.*` access events (docs/governance.md). A gateway holds at most RATE_LIMITS_MAX limits and
 * BUDGETS_MAX budgets.
 */
export class RuleBook<R extends BookRule = RateLimitRule> {
  private bySubject = new Map<string, R[]>();
  private byId = new Map<string, R>();
  /** How many defaults there are: a gateway without any does not look for them. */
  private defaults = 0;
  private loading: Promise<void> | undefined;
  private loaded = false;
  /** Called with the id of a limit that changed or went away: its slices are dropped. */
  onDrop: (id: string) => void = () => {};

  constructor(
    private readonly client: BusClient,
    private readonly feed: AccessFeed,
    private readonly logger: Logger,
    private readonly kind: BookKind<R>,
  ) {
    feed.onEvent(({ event }) => {
      const change = kind.change(event);
      if (change === undefined) return;
      if ("put" in change) this.put(change.put);
      else this.remove(change.remove);
    });
    feed.onReset(() => {
      // Events may have been missed: fetch them all again (the current ones stay in force meanwhile).
      if (this.loaded) void this.load().catch(() => {});
    });
  }

  /** True once the rules were fetched; until then `ready()` must be awaited. */
  get isLoaded(): boolean {
    return this.loaded;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Resolves when the rules are loaded (fetching them if nobody has yet); throws when acl cannot answer. */
  ready(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    return this.load();
  }

  get(id: string): R | undefined {
    return this.byId.get(id);
  }

  /** The rules on one subject of its own. */
  of(kind: string, id: string): readonly R[] | undefined {
    return this.bySubject.get(subjectKey(kind, id));
  }

  /** The defaults of a kind: for each subject of it without a limit of its own with the same scope. */
  defaultsOf(kind: string): readonly R[] | undefined {
    if (this.defaults === 0) return undefined;
    return this.bySubject.get(subjectKey(kind, null));
  }

  private load(): Promise<void> {
    this.loading ??= this.fetchAll().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async fetchAll(): Promise<void> {
    // An event applied while the pages were read may predate them or not: read again until none was.
    for (let attempt = 0; ; attempt++) {
      const epoch = this.feed.epoch();
      const rules: R[] = [];
      let after: string | undefined;
      do {
        const page = await this.kind.page(this.client, after);
        rules.push(...page.rules);
        after = page.next ?? undefined;
      } while (after !== undefined);
      if (this.feed.epoch() !== epoch && attempt < 5) continue;
      const previous = this.byId;
      this.bySubject = new Map();
      this.byId = new Map();
      this.defaults = 0;
      for (const rule of rules) this.put(rule);
      for (const id of previous.keys()) if (!this.byId.has(id)) this.onDrop(id);
      this.loaded = true;
      this.logger.debug({ [this.kind.name]: rules.length }, `${this.kind.name} loaded`);
      return;
    }
  }

  private put(rule: R): void {
    if (this.byId.has(rule.id)) this.remove(rule.id);
    this.byId.set(rule.id, rule);
    if (rule.subject.id === null) this.defaults++;
    const key = subjectKey(rule.subject.kind, rule.subject.id);
    const list = this.bySubject.get(key);
    if (list) list.push(rule);
    else this.bySubject.set(key, [rule]);
  }

  private remove(id: string): void {
    const rule = this.byId.get(id);
    if (!rule) return;
    this.byId.delete(id);
    if (rule.subject.id === null) this.defaults--;
    const key = subjectKey(rule.subject.kind, rule.subject.id);
    const rest = (this.bySubject.get(key) ?? []).filter((r) => r.id !== id);
    if (rest.length > 0) this.bySubject.set(key, rest);
    else this.bySubject.delete(key);
    this.onDrop(id);
  }
}
