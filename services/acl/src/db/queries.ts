import type { CheckPrincipal, GrantResource } from "@gatehouse/contracts";
import { and, asc, eq, gt, type SQL, sql } from "drizzle-orm";
import type { AclDb, AclTx } from "../context.js";
import type { HeldGrant } from "../domain/decide.js";
import { grants, teamMembers } from "./schema.js";

/** Grants made to the principal itself, on the names `accounts` selects (all when undefined). */
const directTo = (principal: CheckPrincipal, accounts: SQL | undefined) =>
  and(eq(grants.subjectKind, principal.kind), eq(grants.subjectId, principal.id), accounts);
/** Grants on one kind of resource, and on one name of it when given. */
const on = (resource: GrantResource, name?: string) =>
  name === undefined
    ? eq(grants.resource, resource)
    : and(eq(grants.resource, resource), eq(grants.account, name));
/** Joins a grant to the memberships of the team it was made to. */
const teamGrant = and(eq(grants.subjectKind, "team"), eq(grants.subjectId, teamMembers.teamId));

/**
 * Every grant that reaches the principal (on one account or route, or on all of that kind): direct
 * ones and its teams'. Grants on routes and on accounts never answer for each other.
 */
export async function heldGrants(
  db: AclDb | AclTx,
  principal: CheckPrincipal,
  account?: string,
  resource: GrantResource = "account",
): Promise<HeldGrant[]> {
  const onAccount = on(resource, account);
  const direct = await db
    .select({ account: grants.account, role: grants.role })
    .from(grants)
    .where(directTo(principal, onAccount));
  const held: HeldGrant[] = direct.map((g) => ({ ...g, via: "direct" }));
  if (principal.kind !== "user") return held;
  const viaTeams = await db
    .select({ account: grants.account, role: grants.role, teamId: teamMembers.teamId })
    .from(grants)
    .innerJoin(teamMembers, teamGrant)
    .where(and(eq(teamMembers.userId, principal.id), onAccount));
  for (const g of viaTeams) held.push({ ...g, via: "team" });
  return held;
}

/**
 * The grants that reach the principal on the first `limit` + 1 accounts after `after`, in account
 * order, from each source: enough to tell the first `limit` accounts exactly (see `accountsPage`).
 * A user's team grants are folded per account here, so many teams granting one account count once.
 */
export async function heldGrantsPage(
  db: AclDb | AclTx,
  principal: CheckPrincipal,
  after: string | undefined,
  limit: number,
  resource: GrantResource = "account",
): Promise<HeldGrant[]> {
  const afterAccount = and(on(resource), after === undefined ? undefined : gt(grants.account, after));
  const direct = await db
    .select({ account: grants.account, role: grants.role })
    .from(grants)
    .where(directTo(principal, afterAccount))
    .orderBy(asc(grants.account))
    .limit(limit + 1);
  const held: HeldGrant[] = direct.map((g) => ({ ...g, via: "direct" }));
  if (principal.kind !== "user") return held;
  const manager = sql<boolean>`bool_or(${grants.role} = 'manager')`;
  const viaTeams = await db
    .select({ account: grants.account, manager })
    .from(grants)
    .innerJoin(teamMembers, teamGrant)
    .where(and(eq(teamMembers.userId, principal.id), afterAccount))
    .groupBy(grants.account)
    .orderBy(asc(grants.account))
    .limit(limit + 1);
  for (const g of viaTeams)
    held.push({ account: g.account, role: g.manager ? "manager" : "user", via: "team" });
  return held;
}
