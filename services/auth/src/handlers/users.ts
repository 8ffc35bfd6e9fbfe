import { randomUUID } from "node:crypto";
import { requireAdmin } from "@gatehouse/access-events";
import type { Route } from "@gatehouse/bus";
import {
  authAdminUsersCreate,
  authAdminUsersDeactivate,
  authAdminUsersGet,
  authAdminUsersList,
  authAdminUsersReactivate,
  GatehouseError,
} from "@gatehouse/contracts";
import { isUniqueViolation, keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, eq, isNull } from "drizzle-orm";
import type { AuthContext } from "../context.js";
import { getUser } from "../db/queries.js";
import { apiKeys, users } from "../db/schema.js";
import { userView } from "../db/views.js";
import { requireSelfOrAdmin } from "../domain/policy.js";
import { adminRoute } from "./common.js";

export function userRoutes(ctx: AuthContext): Route[] {
  return [
    adminRoute(ctx, authAdminUsersCreate, async ({ actor, email, name, role, externalId }) => {
      requireAdmin(actor);
      const now = ctx.now();
      try {
        return await ctx.changes.run(async (tx) => {
          const rows = await tx
            .insert(users)
            .values({
              id: randomUUID(),
              email,
              name,
              role,
              status: "active",
              externalId: externalId ?? null,
              createdAt: now,
            })
            .returning();
          const row = rows[0];
          if (!row) throw new Error("user insert returned no row");
          await ctx.changes.audit(
            tx,
            actor,
            { action: "users.create", targetKind: "user", targetId: row.id, detail: { email, role } },
            now,
          );
          return userView(row);
        });
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new GatehouseError("conflict", "a user with this email or external id already exists");
        }
        throw err;
      }
    }),

    adminRoute(ctx, authAdminUsersList, async ({ actor, limit, cursor }) => {
      requireAdmin(actor);
      const rows = await ctx.db
        .select()
        .from(users)
        .where(keysetAfter(users.createdAt, users.id, cursor, "asc"))
        .orderBy(...keysetOrder(users.createdAt, users.id, "asc"))
        .limit(limit + 1);
      return pageFrom(rows, limit, (r) => ({ at: r.createdAt, id: r.id }), userView);
    }),

    adminRoute(ctx, authAdminUsersGet, async ({ actor, id }) => {
      requireSelfOrAdmin(actor, id);
      return userView(await getUser(ctx.db, id));
    }),

    adminRoute(ctx, authAdminUsersDeactivate, async ({ actor, id }) => {
      requireAdmin(actor);
      if (actor.principal.id === id) {
        throw new GatehouseError("conflict", "you cannot deactivate yourself");
      }
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        const user = await getUser(tx, id, true);
        if (user.status === "deactivated") return userView(user);
        const rows = await tx
          .update(users)
          .set({ status: "deactivated", deactivatedAt: now })
          .where(eq(users.id, id))
          .returning();
        // Revoked, not merely suspended: reactivating the user does not bring these keys back.
        const revoked = await tx
          .update(apiKeys)
          .set({ revokedAt: now, revokedReason: "user_deactivated" })
          .where(and(eq(apiKeys.userId, id), eq(apiKeys.kind, "pat"), isNull(apiKeys.revokedAt)))
          .returning({ id: apiKeys.id });
        await emit({ type: "user.deactivated", userId: id });
        await ctx.changes.audit(
          tx,
          actor,
          {
            action: "users.deactivate",
            targetKind: "user",
            targetId: id,
            detail: { revokedKeys: revoked.length },
          },
          now,
        );
        const row = rows[0];
        if (!row) throw new Error("user update returned no row");
        return userView(row);
      });
    }),

    adminRoute(ctx, authAdminUsersReactivate, async ({ actor, id }) => {
      requireAdmin(actor);
      const now = ctx.now();
      return ctx.changes.run(async (tx) => {
        const user = await getUser(tx, id, true);
        if (user.status === "active") return userView(user);
        const rows = await tx
          .update(users)
          .set({ status: "active", deactivatedAt: null })
          .where(eq(users.id, id))
          .returning();
        await ctx.changes.audit(
          tx,
          actor,
          { action: "users.reactivate", targetKind: "user", targetId: id },
          now,
        );
        const row = rows[0];
        if (!row) throw new Error("user update returned no row");
        return userView(row);
      });
    }),
  ];
}
