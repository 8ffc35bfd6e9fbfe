import { randomUUID } from "node:crypto";
import { requireAdmin } from "@gatehouse/access-events";
import type { Route } from "@gatehouse/bus";
import {
  authAdminVirtualAccountsCreate,
  authAdminVirtualAccountsDelete,
  authAdminVirtualAccountsGet,
  authAdminVirtualAccountsList,
  GatehouseError,
} from "@gatehouse/contracts";
import { isUniqueViolation, keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, eq, isNull } from "drizzle-orm";
import type { AuthContext } from "../context.js";
import { getLiveVirtualAccount } from "../db/queries.js";
import { apiKeys, virtualAccounts } from "../db/schema.js";
import { virtualAccountView } from "../db/views.js";
import { actorUserId, adminRoute, futureExpiry } from "./common.js";

export function virtualAccountRoutes(ctx: AuthContext): Route[] {
  return [
    adminRoute(ctx, authAdminVirtualAccountsCreate, async ({ actor, name, description, expiresAt }) => {
      requireAdmin(actor);
      const now = ctx.now();
      const expiry = futureExpiry(expiresAt, now);
      try {
        return await ctx.changes.run(async (tx) => {
          const rows = await tx
            .insert(virtualAccounts)
            .values({
              id: randomUUID(),
              name,
              description,
              expiresAt: expiry,
              createdAt: now,
              createdBy: actorUserId(actor),
            })
            .returning();
          const row = rows[0];
          if (!row) throw new Error("virtual account insert returned no row");
          await ctx.changes.audit(
            tx,
            actor,
            {
              action: "virtual_accounts.create",
              targetKind: "virtual_account",
              targetId: row.id,
              detail: { name },
            },
            now,
          );
          return virtualAccountView(row);
        });
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new GatehouseError("conflict", "a virtual account with this name already exists");
        }
        throw err;
      }
    }),

    adminRoute(ctx, authAdminVirtualAccountsList, async ({ actor, limit, cursor }) => {
      requireAdmin(actor);
      const rows = await ctx.db
        .select()
        .from(virtualAccounts)
        .where(
          and(
            isNull(virtualAccounts.deletedAt),
            keysetAfter(virtualAccounts.createdAt, virtualAccounts.id, cursor, "asc"),
          ),
        )
        .orderBy(...keysetOrder(virtualAccounts.createdAt, virtualAccounts.id, "asc"))
        .limit(limit + 1);
      return pageFrom(rows, limit, (r) => ({ at: r.createdAt, id: r.id }), virtualAccountView);
    }),

    adminRoute(ctx, authAdminVirtualAccountsGet, async ({ actor, id }) => {
      requireAdmin(actor);
      return virtualAccountView(await getLiveVirtualAccount(ctx.db, id));
    }),

    adminRoute(ctx, authAdminVirtualAccountsDelete, async ({ actor, id }) => {
      requireAdmin(actor);
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        await getLiveVirtualAccount(tx, id);
        const rows = await tx
          .update(virtualAccounts)
          .set({ deletedAt: now })
          .where(eq(virtualAccounts.id, id))
          .returning();
        // A key never outlives its virtual account.
        const revoked = await tx
          .update(apiKeys)
          .set({ revokedAt: now, revokedReason: "virtual_account_deleted" })
          .where(and(eq(apiKeys.virtualAccountId, id), isNull(apiKeys.revokedAt)))
          .returning({ id: apiKeys.id });
        await emit({ type: "virtual_account.deleted", virtualAccountId: id });
        await ctx.changes.audit(
          tx,
          actor,
          {
            action: "virtual_accounts.delete",
            targetKind: "virtual_account",
            targetId: id,
            detail: { revokedKeys: revoked.length },
          },
          now,
        );
        const row = rows[0];
        if (!row) throw new Error("virtual account update returned no row");
        return virtualAccountView(row);
      });
    }),
  ];
}
