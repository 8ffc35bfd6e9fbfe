import type { Actor } from "@gatehouse/contracts";
import type { AclContext } from "../context.js";
import { heldGrants } from "../db/queries.js";
import { decide } from "../domain/decide.js";

/** Tenant admins and the account's managers (directly or through a team) may manage its grants. */
export async function requireManager(
  ctx: AclContext,
  actor: Actor,
  account: string,
  action: string,
): Promise<void> {
  const decision = decide(actor.principal, await heldGrants(ctx.db, actor.principal, account), "manager");
  if (!decision.allowed) {
    throw await ctx.changes.deny(
      actor,
      { action, targetKind: "provider_account", targetId: account },
      `managing provider account '${account}' needs the manager role on it`,
    );
  }
}
