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

/** Creates of one name, one after the other, in this process. */
const creating = new Map<string, Promise<unknown>>();

async function oneAtATime<T>(key: string, run: () => Promise<T>): Promise<T> {
  const before = creating.get(key) ?? Promise.resolve();
  const mine = before.catch(() => {}).then(run);
  creating.set(key, mine);
  try {
    return await mine;
  } finally {
    if (creating.get(key) === mine) creating.delete(key);
  }
}

/**
 * Runs a create that has acl clear the name before the new row is visible: through the `clear` it
 * hands `create`, inside the create's transaction (after the insert, so a create that loses to a
 * concurrent one of the name on the unique index clears nothing). On one connection (PGlite) the
 * transaction would hold what acl and auth need to answer, so the name is cleared just before it,
 * creates of the name taking turns in this process (PGlite has no other) and a name already taken
 * cleared not at all (`existing`, the id of the row the name has; its insert then fails as a
 * duplicate).
 * If the create then fails, the id it announced is no resource: acl is told so with a delete's clear
 * (best effort), which retires the id, so the create's clear, should it reach acl only now, cannot
 * make the name stand for it and empty a later resource of the name. Unless the row is there after
 * all (the commit went through but its answer was lost): retiring a live id would refuse every
 * grant on it for good.
 */
export async function createClearing<T>(
  ctx: AccountsContext,
  actor: Actor,
  resource: GrantResource,
  planned: { name: string; id: string },
  existing: () => Promise<string | undefined>,
  create: (clear: () => Promise<void>) => Promise<T>,
): Promise<T> {
  let announced = false;
  const clear = () => {
    announced = true;
    return clearGrants(ctx, actor, resource, planned, "create");
  };
  const run = async () => {
    try {
      if (!ctx.oneConnection) return await create(clear);
      if ((await existing()) === undefined) await clear();
      return await create(async () => {});
    } catch (err) {
      const made = announced && (await existing().catch(() => undefined)) === planned.id;
      if (announced && !made) {
        await clearGrants(ctx, actor, resource, planned, "delete").catch((retireErr: unknown) =>
          ctx.logger.warn(
            { err: retireErr, resource, name: planned.name },
            "could not tell acl that a failed create's resource does not exist",
          ),
        );
      }
      throw err;
    }
  };
  return ctx.oneConnection ? oneAtATime(`${resource}/${planned.name}`, run) : run();
}
