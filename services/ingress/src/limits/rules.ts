import type { BusClient } from "@gatehouse/bus";
import { aclQuotaRules, type RateLimitRule } from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";
import type { AccessFeed } from "../events/feed.js";

/** A default limit (no subject id) is filed under its kind with this id, which no UUID can be. */
const DEFAULT = "*";
const subjectKey = (kind: string, id: string | null) => `${kind}:${id ?? DEFAULT}`;

/**
 * Every rate limit of the gateway, indexed by subject: loaded from acl (`quota.rules`) on first use
 * and after a feed reset, and kept current by `rate_limit.*` access events (docs/governance.md). A
 * gateway holds at most RATE_LIMITS_MAX of them.
 */
export class RuleBook {
  private bySubject = new Map<string, RateLimitRule[]>();
  private byId = new Map<string, RateLimitRule>();
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
  ) {
    feed.onEvent(({ event }) => {
      if (event.type === "rate_limit.changed") this.put(event.limit);
      else if (event.type === "rate_limit.deleted") this.remove(event.limitId);
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

  get(id: string): RateLimitRule | undefined {
    return this.byId.get(id);
  }

  /** The limits on one subject of its own. */
  of(kind: string, id: string): readonly RateLimitRule[] | undefined {
    return this.bySubject.get(subjectKey(kind, id));
  }

  /** The defaults of a kind: for each subject of it without a limit of its own with the same scope. */
  defaultsOf(kind: string): readonly RateLimitRule[] | undefined {
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
      const rules: RateLimitRule[] = [];
      let after: string | undefined;
      do {
        const page = await this.client.request(aclQuotaRules, after === undefined ? {} : { after });
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
      this.logger.debug({ rateLimits: rules.length }, "rate limits loaded");
      return;
    }
  }

  private put(rule: RateLimitRule): void {
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
