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

/**
 * Runs a create whose transaction has acl clear the name (through the `clear` it is handed). If the
 * create then fails, the id it announced is no resource: acl is told so with a delete's clear (best
 * effort), which retires the id, so the create's clear, should it reach acl only now, cannot make
 * the name stand for it and empty a later resource of the name.
 */
export async function createClearing<T>(
  ctx: AccountsContext,
  actor: Actor,
  resource: GrantResource,
  create: (clear: (row: { name: string; id: string }) => Promise<void>) => Promise<T>,
): Promise<T> {
  let announced: { name: string; id: string } | undefined;
  try {
    return await create((row) => {
      announced = { name: row.name, id: row.id };
      return clearGrants(ctx, actor, resource, row, "create");
    });
  } catch (err) {
    if (announced) {
      await clearGrants(ctx, actor, resource, announced, "delete").catch((retireErr: unknown) =>
        ctx.logger.warn(
          { err: retireErr, resource, name: announced?.name },
          "could not tell acl that a failed create's resource does not exist",
        ),
      );
    }
    throw err;
  }
}
