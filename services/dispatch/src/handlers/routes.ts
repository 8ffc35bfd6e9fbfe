import { randomUUID } from "node:crypto";
import { isAdmin } from "@gatehouse/access-events";
import { type Route, route } from "@gatehouse/bus";
import {
  type Actor,
  aclAccounts,
  aclAdminRouteGrantsPurge,
  aclCheck,
  dispatchAdminRoutesCreate,
  dispatchAdminRoutesDelete,
  dispatchAdminRoutesGet,
  dispatchAdminRoutesList,
  dispatchAdminRoutesUpdate,
  dispatchCatalogRoutes,
  GatehouseError,
  ROUTE_CATALOG_PAGE_MAX,
} from "@gatehouse/contracts";
import { isUniqueViolation, keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { CatalogReads } from "../accounts/catalog-reads.js";
import type { AccountsContext } from "../accounts/context.js";
import { clearGrants, createClearing } from "../accounts/grants.js";
import { requireAccountRole } from "../accounts/permissions.js";
import { modelRoutes } from "../db/schema.js";
import { loadRouteRow, requireTargets, routeView, targetAccounts } from "../routes/store.js";

/**
 * Who may write a route: tenant admins, or a user who manages every account the route sends calls
 * to (before and after the change) — a route can only move traffic its author could move anyway.
 */
async function requireRouteEditor(
  ctx: AccountsContext,
  actor: Actor,
  accounts: readonly string[],
  action: string,
): Promise<void> {
  if (isAdmin(actor)) return;
  for (const account of accounts) await requireAccountRole(ctx, actor, account, "manager", action);
}

/** May read a route: its editors, and whoever holds a grant on it. */
async function requireRouteReader(ctx: AccountsContext, actor: Actor, name: string): Promise<void> {
  if (isAdmin(actor)) return;
  const { id, kind, role } = actor.principal;
  const decision = await ctx.client.request(aclCheck, { principal: { id, kind, role }, route: name });
  if (decision.allowed) return;
  const row = await loadRouteRow(ctx.db, name);
  await requireRouteEditor(ctx, actor, row.accounts, "route.get");
}

export function routeAdminRoutes(ctx: AccountsContext, reads: CatalogReads = new CatalogReads()): Route[] {
  return [
    route(dispatchAdminRoutesCreate, async (req) => {
      const accounts = targetAccounts(req.targets);
      await requireRouteEditor(ctx, req.actor, accounts, "route.create");
      const now = ctx.now();
      try {
        const id = randomUUID();
        const existing = async () =>
          (
            await ctx.db
              .select({ id: modelRoutes.id })
              .from(modelRoutes)
              .where(eq(modelRoutes.name, req.name))
          )[0]?.id;
        return await createClearing(ctx, req.actor, "route", { name: req.name, id }, existing, (clear) =>
          ctx.changes.run(async (tx) => {
            await requireTargets(tx, req.kind, req.targets);
            const [row] = await tx
              .insert(modelRoutes)
              .values({
                id,
                name: req.name,
                kind: req.kind,
                strategy: req.strategy,
                targets: req.targets,
                accounts,
                fallbackOn: req.fallbackOn,
                firstByteTimeoutMs: req.firstByteTimeoutMs,
                cooldownMs: req.cooldownMs,
                failureThreshold: req.failureThreshold,
                createdAt: now,
                updatedAt: now,
                createdBy: req.actor.principal.id,
              })
              .returning();
            if (!row) throw new Error("route insert returned no row");
            // While the row is not yet visible (nor a concurrent create of the name past the unique
            // index), grants left from an earlier route of this name go: the new one inherits none.
            await clear();
            await ctx.changes.audit(
              tx,
              req.actor,
              {
                action: "route.create",
                targetKind: "route",
                targetId: row.name,
                outcome: "success",
                detail: { kind: row.kind, strategy: row.strategy, targets: row.targets.map((t) => t.model) },
              },
              now,
            );
            return routeView(row);
          }),
        );
      } catch (err) {
        if (isUniqueViolation(err))
          throw new GatehouseError("conflict", `a route named '${req.name}' exists`);
        throw err;
      }
    }),

    route(dispatchAdminRoutesList, async (req) => {
      let names: string[] | undefined;
      if (!isAdmin(req.actor)) {
        // Members see the routes they hold a grant on (the first page of them: routes are few).
        const { id, kind, role } = req.actor.principal;
        const held = await ctx.client.request(aclAccounts, {
          principal: { id, kind, role },
          resource: "route",
        });
        names = held.accounts.map((a) => a.account);
        if (names.length === 0) return { items: [], nextCursor: null };
      }
      const rows = await ctx.db
        .select()
        .from(modelRoutes)
        .where(
          and(
            names === undefined ? undefined : inArray(modelRoutes.name, names),
            keysetAfter(modelRoutes.createdAt, modelRoutes.id, req.cursor, "asc"),
          ),
        )
        .orderBy(...keysetOrder(modelRoutes.createdAt, modelRoutes.id, "asc"))
        .limit(req.limit + 1);
      return pageFrom(rows, req.limit, (r) => ({ at: r.createdAt, id: r.id }), routeView);
    }),

    route(dispatchAdminRoutesGet, async (req) => {
      await requireRouteReader(ctx, req.actor, req.name);
      return routeView(await loadRouteRow(ctx.db, req.name));
    }),

    route(dispatchAdminRoutesUpdate, async (req) => {
      const before = await loadRouteRow(ctx.db, req.name);
      const accounts = req.targets ? targetAccounts(req.targets) : before.accounts;
      await requireRouteEditor(
        ctx,
        req.actor,
        [...new Set([...before.accounts, ...accounts])],
        "route.update",
      );
      const now = ctx.now();
      return ctx.changes.run(async (tx, emit) => {
        const current = await loadRouteRow(tx, req.name, true);
        if (req.targets) await requireTargets(tx, current.kind, req.targets);
        const [row] = await tx
          .update(modelRoutes)
          .set({
            ...(req.strategy === undefined ? {} : { strategy: req.strategy }),
            ...(req.targets === undefined ? {} : { targets: req.targets, accounts }),
            ...(req.fallbackOn === undefined ? {} : { fallbackOn: req.fallbackOn }),
            ...(req.firstByteTimeoutMs === undefined ? {} : { firstByteTimeoutMs: req.firstByteTimeoutMs }),
            ...(req.cooldownMs === undefined ? {} : { cooldownMs: req.cooldownMs }),
            ...(req.failureThreshold === undefined ? {} : { failureThreshold: req.failureThreshold }),
            updatedAt: now,
          })
          .where(eq(modelRoutes.id, current.id))
          .returning();
        if (!row) throw new Error("route update returned no row");
        await ctx.changes.audit(
          tx,
          req.actor,
          {
            action: "route.update",
            targetKind: "route",
            targetId: row.name,
            outcome: "success",
            detail: { fields: Object.keys(req).filter((k) => k !== "actor" && k !== "name") },
          },
          now,
        );
        // Every dispatch replica reloads it at once: a target taken out gets no more calls.
        await emit({ type: "route.updated", route: row.name });
        return routeView(row);
      });
    }),

    route(dispatchAdminRoutesDelete, async (req) => {
      const before = await loadRouteRow(ctx.db, req.name);
      await requireRouteEditor(ctx, req.actor, before.accounts, "route.delete");
      // Grants go first, as for accounts: if the delete then fails the route merely lost its grants.
      await ctx.client.request(aclAdminRouteGrantsPurge, { actor: req.actor, route: req.name });
      const now = ctx.now();
      const deleted = await ctx.changes.revoking(async (tx, emit) => {
        const current = await loadRouteRow(tx, req.name, true);
        await tx.delete(modelRoutes).where(eq(modelRoutes.id, current.id));
        await ctx.changes.audit(
          tx,
          req.actor,
          { action: "route.delete", targetKind: "route", targetId: current.name, outcome: "success" },
          now,
        );
        await emit({ type: "route.deleted", route: current.name });
        return routeView(current);
      });
      // And again once the row is gone: a grant whose existence check passed before the delete but
      // whose insert landed after the first purge would otherwise outlive the route.
      await clearGrants(ctx, req.actor, "route", deleted, "delete");
      return deleted;
    }),

    // What ingress resolves a model name without a slash against: name and kind, never the targets.
    // Bounded like every catalog read (503 + Retry-After past it, not ingress's 504), and counted
    // with the account lookups' (`reads`: no pile of queries behind a database that hangs).
    route(dispatchCatalogRoutes, async (req) => {
      const rows = await reads.read(() =>
        ctx.db
          .select({ name: modelRoutes.name, kind: modelRoutes.kind, createdAt: modelRoutes.createdAt })
          .from(modelRoutes)
          .where(
            and(
              req.names === undefined ? undefined : inArray(modelRoutes.name, req.names),
              req.after === undefined ? undefined : gt(modelRoutes.name, req.after),
            ),
          )
          .orderBy(asc(modelRoutes.name))
          .limit(ROUTE_CATALOG_PAGE_MAX + 1)
          .execute(),
      );
      const kept = rows.slice(0, ROUTE_CATALOG_PAGE_MAX);
      return {
        routes: kept.map((r) => ({ name: r.name, kind: r.kind, createdAt: r.createdAt.toISOString() })),
        next: rows.length > ROUTE_CATALOG_PAGE_MAX ? (kept.at(-1)?.name ?? null) : null,
      };
    }),
  ];
}
