import { type Actor, aclGrantsClear, type GrantResource } from "@gatehouse/contracts";
import type { AccountsContext } from "./context.js";

/**
 * Has acl drop every grant left on an account or route name and record what the name stands for
 * now: dispatch's own step in a create (`step: "create"`, the new row's id, before the row is
 * visible) and after a delete (`step: "delete"`, the deleted row's id), not a permission the actor
 * needs. acl inserts a grant only for the resource the name stands for, so a grant whose existence
 * check saw a deleted resource never lands on a later one of the name. Removals go out as the usual
 * access events. If acl cannot be reached the create fails (nothing was made); after a delete the
 * error reaches the caller and the next create of the name clears what is left.
 */
export async function clearGrants(
  ctx: AccountsContext,
  actor: Actor,
  resource: GrantResource,
  row: { name: string; id: string },
  step: "create" | "delete",
): Promise<void> {
  const common = { actor, step, resourceId: row.id, name: row.name };
  // A clear that removes grants returns once the ingress replicas confirmed (bounded by the access
  // lease, twice over): the wait of an admin call such as the purge, not of a plain request.
  await ctx.client.request(
    aclGrantsClear,
    resource === "route" ? { ...common, resource } : { ...common, resource },
    { timeoutMs: ctx.client.adminTimeoutMs },
  );
}
