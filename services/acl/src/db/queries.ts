import type { CheckPrincipal } from "@gatehouse/contracts";
import { and, eq } from "drizzle-orm";
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
