import type { CheckPrincipal, CheckResponse, GrantRole } from "@gatehouse/contracts";

/** A grant that reaches a principal: its own, or one of a team it belongs to. */
export interface HeldGrant {
  account: string;
  role: GrantRole;
  via: "direct" | "team";
  /** The team whose grant it is (`via: "team"`, when read for a check). */
  teamId?: string;
}

const RANK: Record<GrantRole, number> = { user: 1, manager: 2 };

export function roleAtLeast(role: GrantRole, minimum: GrantRole): boolean {
  return RANK[role] >= RANK[minimum];
}

/**
 * The access decision. Tenant admins reach every account as managers. Otherwise the highest role
 * among the grants that reach the principal counts; a direct grant is named over a team grant of
 * the same role so the reason points at the grant an admin would revoke first.
 */
export function decide(principal: CheckPrincipal, held: HeldGrant[], minimumRole: GrantRole): CheckResponse {
  if (principal.kind === "user" && principal.role === "admin") {
    return { allowed: true, reason: "tenant_admin", role: "manager" };
  }
  // Virtual accounts are never team members; only grants made to them directly count.
  const usable = principal.kind === "virtual_account" ? held.filter((g) => g.via === "direct") : held;
  let best: HeldGrant | undefined;
  for (const g of usable) {
    if (
      !best ||
      RANK[g.role] > RANK[best.role] ||
      (RANK[g.role] === RANK[best.role] && g.via === "direct" && best.via === "team")
    ) {
      best = g;
    }
  }
  if (!best) return { allowed: false, reason: "no_grant" };
  const allowed = roleAtLeast(best.role, minimumRole);
  if (best.via === "direct") return { allowed, reason: "direct_grant", role: best.role };
  // The teams whose grant allows the call: their limits and budgets count it.
  const teamIds = new Set<string>();
  for (const g of usable)
    if (g.teamId !== undefined && roleAtLeast(g.role, minimumRole)) teamIds.add(g.teamId);
  const decision: CheckResponse = { allowed, reason: "team_grant", role: best.role };
  if (allowed && teamIds.size > 0) decision.teamIds = [...teamIds].slice(0, 1_000);
  return decision;
}

/** The accounts a principal can use, each with its highest role. */
export function accountRoles(held: HeldGrant[]): Array<{ account: string; role: GrantRole }> {
  const byAccount = new Map<string, GrantRole>();
  for (const g of held) {
    const current = byAccount.get(g.account);
    if (!current || RANK[g.role] > RANK[current]) byAccount.set(g.account, g.role);
  }
  return [...byAccount.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([account, role]) => ({ account, role }));
}

/**
 * The first `limit` accounts of `held`, which holds up to `limit` + 1 accounts from each source in
 * account order. Exact: a source cut at `limit` + 1 accounts reaches past the `limit`-th account of
 * the union, so nothing at or before it is missing. `next` is set when more may follow.
 */
export function accountsPage(
  held: HeldGrant[],
  limit: number,
): { accounts: Array<{ account: string; role: GrantRole }>; next: string | null } {
  const all = accountRoles(held);
  const accounts = all.slice(0, limit);
  return { accounts, next: all.length > limit ? (accounts.at(-1)?.account ?? null) : null };
}
