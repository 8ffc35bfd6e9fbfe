import { type Actor, GatehouseError } from "@gatehouse/contracts";
import type { AclContext } from "../context.js";
import { writeAudit } from "../db/audit.js";
import { heldGrants } from "../db/queries.js";
import { decide } from "../domain/decide.js";

export function isAdmin(actor: Actor): boolean {
  return actor.principal.kind === "user" && actor.principal.role === "admin";
}

/** Record the refused attempt (outside any transaction: nothing else happens) and refuse it. */
async function deny(
  ctx: AclContext,
  actor: Actor,
  action: string,
  targetKind: string,
  targetId: string | null,
  message: string,
): Promise<never> {
  await writeAudit(ctx.db, actor, ctx.now(), { action, targetKind, targetId, outcome: "denied" });
  throw new GatehouseError("permission_denied", message);
}

export async function requireAdmin(
  ctx: AclContext,
  actor: Actor,
  action: string,
  targetKind: string,
  targetId: string | null,
): Promise<void> {
  if (!isAdmin(actor)) {
    await deny(ctx, actor, action, targetKind, targetId, "this action needs a tenant admin");
  }
}

/** Tenant admins and the account's managers (directly or through a team) may manage its grants. */
export async function requireManager(
  ctx: AclContext,
  actor: Actor,
  account: string,
  action: string,
): Promise<void> {
  const decision = decide(actor.principal, await heldGrants(ctx.db, actor.principal, account), "manager");
  if (!decision.allowed) {
    await deny(
      ctx,
      actor,
      action,
      "provider_account",
      account,
      `managing provider account '${account}' needs the manager role on it`,
    );
  }
}

export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === "23505") return true;
  }
  return false;
}
