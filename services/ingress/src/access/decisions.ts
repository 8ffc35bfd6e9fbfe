import type { AccessEventEnvelope, CheckPrincipal } from "@gatehouse/contracts";
import type { AccessFeed } from "../events/feed.js";

/**
 * Positive access decisions (principal may call account), cached for a short TTL. Only allows are
 * kept: a refusal must turn into an allow the moment a grant is made. Entries are dropped by the
 * access events that could end them and all at once when the feed resets; none is used while the
 * feed is not trusted.
 */
/** A cached allow: until when, and the teams whose grant allowed it (their limits count the call). */
export interface CachedDecision {
  expires: number;
  teams: readonly string[] | undefined;
}

export class DecisionCache {
  private readonly entries = new Map<string, CachedDecision>();
  private readonly now: () => number;

  constructor(
    private readonly feed: AccessFeed,
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
    now?: () => number,
  ) {
    this.now = now ?? Date.now;
    feed.onEvent((e) => this.apply(e));
    feed.onReset(() => this.entries.clear());
  }

  private static key(p: CheckPrincipal, account: string): string {
    return `${p.kind}:${p.id}:${p.role}:${account}`;
  }

  allowed(p: CheckPrincipal, account: string): boolean {
    return this.get(p, account) !== undefined;
  }

  /** The cached allow, when there is a usable one. */
  get(p: CheckPrincipal, account: string): CachedDecision | undefined {
    if (!this.feed.trusted()) return undefined;
    const key = DecisionCache.key(p, account);
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Store an allow fetched when the feed was at `epochBefore`; skipped if an event landed meanwhile. */
  remember(p: CheckPrincipal, account: string, epochBefore: number, teams?: readonly string[]): void {
    if (this.feed.epoch() !== epochBefore || !this.feed.trusted()) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(DecisionCache.key(p, account), { expires: this.now() + this.ttlMs, teams });
  }

  get size(): number {
    return this.entries.size;
  }

  private dropWhere(match: (kind: string, id: string, account: string) => boolean): void {
    for (const key of this.entries.keys()) {
      const [kind = "", id = "", , account = ""] = key.split(":");
      if (match(kind, id, account)) this.entries.delete(key);
    }
  }

  private apply({ event }: AccessEventEnvelope): void {
    switch (event.type) {
      case "grant.removed":
        // A team grant reaches members we do not know here: drop the whole account.
        if (event.subject.kind === "team") this.dropWhere((_k, _i, a) => a === event.account);
        else
          this.dropWhere(
            (k, i, a) => k === event.subject.kind && i === event.subject.id && a === event.account,
          );
        return;
      case "route_grant.removed": {
        // Decisions on a route are kept under `route/<name>` (see authorize.ts's routeResource).
        const resource = `route/${event.route}`;
        if (event.subject.kind === "team") this.dropWhere((_k, _i, a) => a === resource);
        else
          this.dropWhere((k, i, a) => k === event.subject.kind && i === event.subject.id && a === resource);
        return;
      }
      case "route.deleted": {
        const resource = `route/${event.route}`;
        this.dropWhere((_k, _i, a) => a === resource);
        return;
      }
      case "route.updated":
        // Who may call the route is unchanged; where it goes is dispatch's.
        return;
      case "team_member.removed":
        this.dropWhere((k, i) => k === "user" && i === event.userId);
        return;
      case "team.deleted":
        this.entries.clear();
        return;
      case "account.disabled":
      case "account.deleted":
        this.dropWhere((_k, _i, a) => a === event.account);
        return;
      case "user.deactivated":
      case "user.keys_revoked":
        this.dropWhere((k, i) => k === "user" && i === event.userId);
        return;
      case "virtual_account.deleted":
        this.dropWhere((k, i) => k === "virtual_account" && i === event.virtualAccountId);
        return;
      case "key.revoked":
      case "key.expiry_shortened":
      case "keys.all_revoked":
      case "rate_limit.changed":
      case "rate_limit.deleted":
        // Keys are the authenticator's cache; a decision is about the principal, which is unchanged.
        return;
    }
  }
}
