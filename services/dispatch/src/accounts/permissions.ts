import { type Actor, aclCheck, GatehouseError, type GrantRole } from "@gatehouse/contracts";
import { type AccountsContext, writeAudit } from "./context.js";

export function isAdmin(actor: Actor): boolean {
  return actor.principal.kind === "user" && actor.principal.role === "admin";
}

/** Audits a refused attempt (`detail` names what was attempted, never values) and returns the 403. */
export async function deny(
  ctx: AccountsContext,
  actor: Actor,
  action: string,
  account: string | null,
  message: string,
  detail?: Record<string, unknown>,
): Promise<GatehouseError> {
  await writeAudit(ctx.db, actor, ctx.now(), {
    action,
    targetKind: "provider_account",
    targetId: account,
    outcome: "denied",
    ...(detail === undefined ? {} : { detail }),
  });
  return new GatehouseError("permission_denied", message);
}

export async function requireAdmin(
  ctx: AccountsContext,
  actor: Actor,
  action: string,
  account: string | null,
): Promise<void> {
  if (!isAdmin(actor)) throw await deny(ctx, actor, action, account, "this action needs a tenant admin");
}

/**
 * Tenant admins pass; anyone else needs `minimumRole` on the account, asked of acl (who manages an
 * account is acl's data). If acl cannot answer, the error propagates: no answer is never a yes.
 */
export async function requireAccountRole(
  ctx: AccountsContext,
  actor: Actor,
  account: string,
  minimumRole: GrantRole,
  action: string,
  detail?: Record<string, unknown>,
): Promise<void> {
  if (isAdmin(actor)) return;
  const { id, kind, role } = actor.principal;
  const decision = await ctx.client.request(aclCheck, {
    principal: { id, kind, role },
    account,
    minimumRole,
  });
  if (!decision.allowed) {
    throw await deny(
      ctx,
      actor,
      action,
      account,
      minimumRole === "manager"
        ? `managing provider account '${account}' needs the manager role on it`
        : `no access to provider account '${account}'`,
      detail,
    );
  }
}
