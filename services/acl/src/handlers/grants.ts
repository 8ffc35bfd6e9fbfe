import { randomUUID } from "node:crypto";
import { type Route, route } from "@gatehouse/bus";
import {
  type Actor,
  aclAdminGrantsCreate,
  aclAdminGrantsDelete,
  aclAdminGrantsList,
  aclAdminGrantsPurgeAccount,
  aclAdminRouteGrantsCreate,
  aclAdminRouteGrantsDelete,
  aclAdminRouteGrantsList,
  aclAdminRouteGrantsPurge,
  aclGrantsClear,
  type ClearGrantsRequest,
  GatehouseError,
  type Grant,
  type GrantResource,
  type GrantRole,
  type GrantSubject,
  type RouteGrant,
} from "@gatehouse/contracts";
import { isUniqueViolation, keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, eq } from "drizzle-orm";
import type { AclContext, AclTx } from "../context.js";
import { grants, resourceNames, retiredResources, teams } from "../db/schema.js";
import { requireManager } from "./common.js";

type GrantRow = typeof grants.$inferSelect;

function common(row: GrantRow) {
  return {
    id: row.id,
    subject: { kind: row.subjectKind, id: row.subjectId },
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
  };
}

export function grantView(row: GrantRow): Grant {
  return { ...common(row), account: row.account };
}

function routeGrantView(row: GrantRow): RouteGrant {
  return { ...common(row), route: row.account };
}

/** The words a resource kind uses in audit rows, events and messages. */
const NOUN: Record<GrantResource, { audit: string; target: string; text: string }> = {
  account: { audit: "grant", target: "provider_account", text: "the account" },
  route: { audit: "route_grant", target: "route", text: "the route" },
};

const onResource = (resource: GrantResource, name: string) =>
  and(eq(grants.resource, resource), eq(grants.account, name));

const namedRow = (resource: GrantResource, name: string) =>
  and(eq(resourceNames.resource, resource), eq(resourceNames.name, name));

/**
 * The row saying which resource the name stands for, locked until the transaction ends (`share`:
 * grant inserts, which run side by side; `update`: the clears, which change it). A name dispatch
 * never announced (its resource was made before acl kept these rows) starts as `initial`:
 * `claimed` says this call made it so.
 */
async function lockName(
  tx: AclTx,
  resource: GrantResource,
  name: string,
  initial: string | null,
  mode: "share" | "update",
  now: Date,
): Promise<{ standsFor: string | null; claimed: boolean }> {
  const inserted = await tx
    .insert(resourceNames)
    .values({ resource, name, resourceId: initial, updatedAt: now })
    .onConflictDoNothing()
    .returning({ name: resourceNames.name });
  const [row] = await tx
    .select({ resourceId: resourceNames.resourceId })
    .from(resourceNames)
    .where(namedRow(resource, name))
    .for(mode);
  if (!row) throw new Error("resource name row vanished inside its transaction");
  return { standsFor: row.resourceId, claimed: inserted.length > 0 };
}

async function isRetired(tx: AclTx, resourceId: string): Promise<boolean> {
  const rows = await tx
    .select({ id: retiredResources.resourceId })
    .from(retiredResources)
    .where(eq(retiredResources.resourceId, resourceId));
  return rows.length > 0;
}

async function createGrant(
  ctx: AclContext,
  resource: GrantResource,
  name: string,
  req: { actor: Actor; resourceId: string; subject: GrantSubject; role: GrantRole },
): Promise<GrantRow> {
  const noun = NOUN[resource];
  await requireManager(ctx, req.actor, { resource, name }, `${noun.audit}.create`);
  const now = ctx.now();
  try {
    return await ctx.changes.run(async (tx) => {
      if (req.subject.kind === "team") {
        const team = await tx.select({ id: teams.id }).from(teams).where(eq(teams.id, req.subject.id));
        if (team.length === 0) throw new GatehouseError("not_found", "team not found");
      }
      // Only for the resource ingress's existence check saw, and only while the name stands for it:
      // a clear (after a delete, or in a create) waits for this insert, or this insert for it. A
      // name acl never heard of is claimed by this id — unless dispatch said it is gone: then the
      // claim is refused, and rolled back with the rest.
      const named = await lockName(tx, resource, name, req.resourceId, "share", now);
      if (named.standsFor !== req.resourceId || (named.claimed && (await isRetired(tx, req.resourceId)))) {
        throw new GatehouseError(
          "not_found",
          `${noun.text} was deleted (and perhaps created again) since the grant was asked for`,
        );
      }
      const [row] = await tx
        .insert(grants)
        .values({
          id: randomUUID(),
          resource,
          account: name,
          subjectKind: req.subject.kind,
          subjectId: req.subject.id,
          role: req.role,
          createdAt: now,
          createdBy: req.actor.principal.id,
        })
        .returning();
      if (!row) throw new Error("grant insert returned no row");
      await ctx.changes.audit(
        tx,
        req.actor,
        {
          action: `${noun.audit}.create`,
          targetKind: "grant",
          targetId: row.id,
          outcome: "success",
          detail: { [resource]: row.account, subject: req.subject, role: row.role },
        },
        now,
      );
      return row;
    });
  } catch (err) {
    // Changing a role is delete + create: a downgrade must go out as an access event.
    if (isUniqueViolation(err)) {
      throw new GatehouseError("conflict", `this subject already has a grant on ${noun.text}`);
    }
    throw err;
  }
}

async function listGrants(
  ctx: AclContext,
  resource: GrantResource,
  name: string,
  req: { actor: Actor; limit: number; cursor?: string | undefined },
) {
  await requireManager(ctx, req.actor, { resource, name }, `${NOUN[resource].audit}.list`);
  return ctx.db
    .select()
    .from(grants)
    .where(and(onResource(resource, name), keysetAfter(grants.createdAt, grants.id, req.cursor, "asc")))
    .orderBy(...keysetOrder(grants.createdAt, grants.id, "asc"))
    .limit(req.limit + 1);
}

function removedEvent(row: GrantRow) {
  const subject = { kind: row.subjectKind, id: row.subjectId };
  return row.resource === "route"
    ? { type: "route_grant.removed" as const, subject, route: row.account }
    : { type: "grant.removed" as const, subject, account: row.account };
}

async function deleteGrant(
  ctx: AclContext,
  resource: GrantResource,
  name: string,
  req: { actor: Actor; grantId: string },
) {
  const noun = NOUN[resource];
  await requireManager(ctx, req.actor, { resource, name }, `${noun.audit}.delete`);
  const now = ctx.now();
  return ctx.changes.revoking(async (tx, emit) => {
    const [row] = await tx
      .delete(grants)
      .where(and(eq(grants.id, req.grantId), onResource(resource, name)))
      .returning();
    if (!row) throw new GatehouseError("not_found", `grant not found on ${noun.text}`);
    await ctx.changes.audit(
      tx,
      req.actor,
      {
        action: `${noun.audit}.delete`,
        targetKind: "grant",
        targetId: row.id,
        outcome: "success",
        detail: {
          [resource]: row.account,
          subject: { kind: row.subjectKind, id: row.subjectId },
          role: row.role,
        },
      },
      now,
    );
    await emit(removedEvent(row));
    return { row };
  });
}

/** Whether a purge drops the grants, and what its audit row says besides how many it dropped. */
interface Settled {
  purge: boolean;
  detail: Record<string, unknown>;
}

/**
 * What a clear does to the name before it drops the grants: it now stands for the created resource,
 * or (after a delete) for none. A delete's clear of a resource the name no longer stands for (a newer
 * one of the name was created since) changes and drops nothing: those grants are the newer one's.
 * A delete's clear also retires the id, so a create's clear for it that arrives later (its create
 * failed, and dispatch said so, while the clear was on its way) changes and drops nothing either.
 */
async function settleName(tx: AclTx, req: ClearGrantsRequest, now: Date): Promise<Settled> {
  const after = req.step === "create" ? req.resourceId : null;
  const { standsFor } = await lockName(tx, req.resource, req.name, after, "update", now);
  const detail = { step: req.step, resourceId: req.resourceId };
  if (req.step === "delete") {
    await tx
      .insert(retiredResources)
      .values({ resourceId: req.resourceId, retiredAt: now })
      .onConflictDoNothing();
    if (standsFor !== null && standsFor !== req.resourceId) {
      return { purge: false, detail: { ...detail, replacedBy: standsFor } };
    }
  } else if (await isRetired(tx, req.resourceId)) {
    // The create failed and dispatch said so before this clear arrived: the name is not its.
    return { purge: false, detail: { ...detail, retired: true } };
  }
  await tx
    .update(resourceNames)
    .set({ resourceId: after, updatedAt: now })
    .where(namedRow(req.resource, req.name));
  return { purge: true, detail };
}

/** Drops every grant on the resource, each as an access event, in one revoking change (`settle` first). */
async function purgeGrants(
  ctx: AclContext,
  resource: GrantResource,
  name: string,
  actor: Actor,
  action = resource === "route" ? "route_grant.purge" : "grant.purge_account",
  settle: (tx: AclTx, now: Date) => Promise<Settled> = async () => ({ purge: true, detail: {} }),
) {
  const noun = NOUN[resource];
  const now = ctx.now();
  return ctx.changes.revoking(async (tx, emit) => {
    const settled = await settle(tx, now);
    const rows = settled.purge ? await tx.delete(grants).where(onResource(resource, name)).returning() : [];
    for (const row of rows) await emit(removedEvent(row));
    await ctx.changes.audit(
      tx,
      actor,
      {
        action,
        targetKind: noun.target,
        targetId: name,
        outcome: "success",
        detail: { removed: rows.length, ...settled.detail },
      },
      now,
    );
    return { removed: rows.length };
  });
}

/**
 * `prove` checks a route's actor with auth as every `admin.*` route's is: `grants.clear` is outside
 * `admin.*` (ingress may not publish it) but records its actor, who must be proven, not claimed.
 */
export function grantRoutes(ctx: AclContext, prove: (r: Route) => Route): Route[] {
  return [
    route(aclAdminGrantsCreate, async (req) =>
      grantView(await createGrant(ctx, "account", req.account, req)),
    ),
    route(aclAdminGrantsList, async (req) =>
      pageFrom(
        await listGrants(ctx, "account", req.account, req),
        req.limit,
        (r) => ({ at: r.createdAt, id: r.id }),
        grantView,
      ),
    ),
    route(aclAdminGrantsDelete, async (req) => {
      const { row, ...propagated } = await deleteGrant(ctx, "account", req.account, req);
      return { ...grantView(row), ...propagated };
    }),
    route(aclAdminGrantsPurgeAccount, async (req) => {
      await ctx.changes.requireAdmin(req.actor, {
        action: "grant.purge_account",
        targetKind: "provider_account",
        targetId: req.account,
      });
      return purgeGrants(ctx, "account", req.account, req.actor);
    }),

    route(aclAdminRouteGrantsCreate, async (req) =>
      routeGrantView(await createGrant(ctx, "route", req.route, req)),
    ),
    route(aclAdminRouteGrantsList, async (req) =>
      pageFrom(
        await listGrants(ctx, "route", req.route, req),
        req.limit,
        (r) => ({ at: r.createdAt, id: r.id }),
        routeGrantView,
      ),
    ),
    route(aclAdminRouteGrantsDelete, async (req) => {
      const { row, ...propagated } = await deleteGrant(ctx, "route", req.route, req);
      return { ...routeGrantView(row), ...propagated };
    }),
    // Before a route is deleted: by a tenant admin or one of the route's managers.
    route(aclAdminRouteGrantsPurge, async (req) => {
      await requireManager(ctx, req.actor, { resource: "route", name: req.route }, "route_grant.purge");
      return purgeGrants(ctx, "route", req.route, req.actor);
    }),
    // Dispatch's own step inside an account or route create, and after a delete: no permission of
    // the actor's (only dispatch may publish here), so a leftover grant never outlives its resource.
    prove(
      route(aclGrantsClear, (req) =>
        purgeGrants(ctx, req.resource, req.name, req.actor, `${NOUN[req.resource].audit}.clear`, (tx, now) =>
          settleName(tx, req, now),
        ),
      ),
    ),
  ];
}
