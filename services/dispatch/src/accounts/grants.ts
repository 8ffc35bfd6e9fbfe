import { type Actor, aclGrantsClear, type GrantResource } from "@gatehouse/contracts";
import type { AccountsContext } from "./context.js";

/**
 * Has acl drop every grant left on an account or route name: dispatch's own step in a create (before
 * the row is visible) and after a delete, not a permission the actor needs. Removals go out as the
 * usual access events. If acl cannot be reached the create fails (nothing was made); after a delete
 * the error reaches the caller and the next create of the name clears what is left.
 */
export async function clearGrants(
  ctx: AccountsContext,
  actor: Actor,
  resource: GrantResource,
  name: string,
): Promise<void> {
  await ctx.client.request(
    aclGrantsClear,
    resource === "route" ? { actor, resource, name } : { actor, resource, name },
  );
}
