import { isAdmin } from "@gatehouse/access-events";
import { type Actor, aclCheck, type GrantRole } from "@gatehouse/contracts";
import type { AccountsContext } from "./context.js";

/**
 * Tenant admins pass; anyone else needs `minimumRole` on the account, asked of acl (who manages an
 * account is acl's data). If acl cannot answer, the error propagates: no answer is never a yes.
 * A refusal is audited; `detail` names what was attempted, never values.
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
    throw await ctx.changes.deny(
      actor,
      {
        action,
        targetKind: "provider_account",
        targetId: account,
        ...(detail === undefined ? {} : { detail }),
      },
      minimumRole === "manager"
        ? `managing provider account '${account}' needs the manager role on it`
        : `no access to provider account '${account}'`,
    );
  }
}
