import type { CheckPrincipal } from "@gatehouse/contracts";
import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { AclDb, AclTx } from "../context.js";
import type { HeldGrant } from "../domain/decide.js";
import { grants, teamMembers } from "./schema.js";

/** Every grant that reaches the principal (on one account, or on all): direct ones and its teams'. */
export async function heldGrants(
  db: AclDb | AclTx,
  principal: CheckPrincipal,
  account?: string,
): Promise<HeldGrant[]> {
  const direct = await db
    .select({ account: grants.account, role: grants.role })
    .from(grants)
    .where(
      and(
        eq(grants.subjectKind, principal.kind),
        eq(grants.subjectId, principal.id),
        account === undefined ? undefined : eq(grants.account, account),
      ),
    );
  const held: HeldGrant[] = direct.map((g) => ({ ...g, via: "direct" }));
  if (principal.kind !== "user") return held;
  const viaTeams = await db
    .select({ account: grants.account, role: grants.role })
    .from(grants)
    .innerJoin(teamMembers, and(eq(grants.subjectKind, "team"), eq(grants.subjectId, teamMembers.teamId)))
    .where(
      and(
        eq(teamMembers.userId, principal.id),
        account === undefined ? undefined : eq(grants.account, account),
      ),
    );
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
): Promise<HeldGrant[]> {
  const direct = await db
    .select({ account: grants.account, role: grants.role })
    .from(grants)
    .where(
      and(
        eq(grants.subjectKind, principal.kind),
        eq(grants.subjectId, principal.id),
        after === undefined ? undefined : gt(grants.account, after),
      ),
    )
    .orderBy(asc(grants.account))
    .limit(limit + 1);
  const held: HeldGrant[] = direct.map((g) => ({ ...g, via: "direct" }));
  if (principal.kind !== "user") return held;
  const manager = sql<boolean>`bool_or(${grants.role} = 'manager')`;
  const viaTeams = await db
    .select({ account: grants.account, manager })
    .from(grants)
    .innerJoin(teamMembers, and(eq(grants.subjectKind, "team"), eq(grants.subjectId, teamMembers.teamId)))
    .where(
      and(eq(teamMembers.userId, principal.id), after === undefined ? undefined : gt(grants.account, after)),
    )
    .groupBy(grants.account)
    .orderBy(asc(grants.account))
    .limit(limit + 1);
  for (const g of viaTeams)
    held.push({ account: g.account, role: g.manager ? "manager" : "user", via: "team" });
  return held;
}
