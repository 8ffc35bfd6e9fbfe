import type { Actor, GrantResource } from "@gatehouse/contracts";
import type { AclContext } from "../context.js";
import { heldGrants } from "../db/queries.js";
import { decide } from "../domain/decide.js";

/** Tenant admins and the resource's managers (directly or through a team) may manage its grants. */
export async function requireManager(
  ctx: AclContext,
  actor: Actor,
  on: { resource: GrantResource; name: string },
  action: string,
): Promise<void> {
  const held = await heldGrants(ctx.db, actor.principal, on.name, on.resource);
  if (!decide(actor.principal, held, "manager").allowed) {
    const account = on.resource === "account";
    throw await ctx.changes.deny(
      actor,
      { action, targetKind: account ? "provider_account" : "route", targetId: on.name },
      `managing ${account ? "provider account" : "route"} '${on.name}' needs the manager role on it`,
    );
  }
}
