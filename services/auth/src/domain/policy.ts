import { isAdmin } from "@gatehouse/access-events";
import { type Actor, GatehouseError } from "@gatehouse/contracts";

/**
 * Who may do what. Members read themselves and manage their own PATs; virtual accounts only read
 * themselves; everything else needs a tenant admin. A refusal is 403, never 404, so a member learns
 * nothing new but also gets an honest answer.
 */
/** The user whose PATs the actor acts on; members may only name themselves. */
export function patOwnerFor(actor: Actor, requestedUserId: string | undefined): string {
  if (actor.principal.kind !== "user") {
    throw new GatehouseError("permission_denied", "virtual accounts cannot manage personal access tokens");
  }
  const userId = requestedUserId ?? actor.principal.id;
  if (userId !== actor.principal.id && !isAdmin(actor)) {
    throw new GatehouseError("permission_denied", "members may only manage their own tokens");
  }
  return userId;
}

/** May the actor revoke a PAT owned by `ownerId`? */
export function requirePatOwnerOrAdmin(actor: Actor, ownerId: string): void {
  if (isAdmin(actor)) return;
  if (actor.principal.kind === "user" && actor.principal.id === ownerId) return;
  throw new GatehouseError("permission_denied", "members may only manage their own tokens");
}

/** Members may read themselves; admins anyone. */
export function requireSelfOrAdmin(actor: Actor, userId: string): void {
  if (isAdmin(actor)) return;
  if (actor.principal.kind === "user" && actor.principal.id === userId) return;
  throw new GatehouseError("permission_denied", "this action needs an admin");
}
