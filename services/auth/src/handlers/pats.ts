import { isAdmin, requireAdmin } from "@gatehouse/access-events";
import type { Route } from "@gatehouse/bus";
import {
  authAdminPatsCreate,
  authAdminPatsList,
  authAdminPatsRevoke,
  authAdminPatsRevokeAll,
  authAdminPatsRevokeAllForUser,
  GatehouseError,
} from "@gatehouse/contracts";
import { keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, eq, isNull } from "drizzle-orm";
import type { AuthContext } from "../context.js";
import { getUser } from "../db/queries.js";
import { apiKeys } from "../db/schema.js";
import { apiKeyView } from "../db/views.js";
import { patOwnerFor, requirePatOwnerOrAdmin } from "../domain/policy.js";
import { enqueueWebhook, keyEventData } from "../webhooks/outbound.js";
import { actorUserId, adminRoute, futureExpiry, insertKey } from "./common.js";

export function patRoutes(ctx: AuthContext): Route[] {
  return [
    adminRoute(ctx, authAdminPatsCreate, async ({ actor, userId, name, expiresAt, keyHash, displayHint }) => {
      const ownerId = patOwnerFor(actor, userId);
      const now = ctx.now();
      const expiry = futureExpiry(expiresAt, now);
      return ctx.changes.run(async (tx) => {
        // Locked so a concurrent deactivation cannot miss a key minted in the same instant.
        const owner = await getUser(tx, ownerId, true);
        if (owner.status !== "active") {
          throw new GatehouseError("conflict", "the user is deactivated; reactivate them first");
        }
        const row = await insertKey(tx, {
          kind: "pat",
          name,
          userId: ownerId,
          createdBy: actorUserId(actor),
          expiresAt: expiry,
          now,
          keyHash,
          displayHint,
        });
        await ctx.changes.audit(
          tx,
          actor,
          {
            action: "pats.create",
            targetKind: "api_key",
            targetId: row.id,
            detail: { userId: ownerId, name },
          },
          now,
        );
        await enqueueWebhook(tx, "key.created", keyEventData(row), now);
        return { apiKey: apiKeyView(row) };
      });
    }),

    adminRoute(ctx, authAdminPatsList, async ({ actor, userId, limit, cursor }) => {
      const ownerId = patOwnerFor(actor, userId);
      const rows = await ctx.db
        .select()
        .from(apiKeys)
        .where(
          and(
            eq(apiKeys.userId, ownerId),
            eq(apiKeys.kind, "pat"),
            keysetAfter(apiKeys.createdAt, apiKeys.id, cursor, "asc"),
          ),
        )
        .orderBy(...keysetOrder(apiKeys.createdAt, apiKeys.id, "asc"))
        .limit(limit + 1);
      return pageFrom(rows, limit, (r) => ({ at: r.createdAt, id: r.id }), apiKeyView);
    }),

    adminRoute(ctx, authAdminPatsRevoke, async ({ actor, id }) => {
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        const rows = await tx
          .select()
          .from(apiKeys)
          .where(and(eq(apiKeys.id, id), eq(apiKeys.kind, "pat")))
          .for("update")
          .limit(1);
        const pat = rows[0];
        if (!pat) throw new GatehouseError("not_found", "no such personal access token");
        requirePatOwnerOrAdmin(actor, pat.userId ?? "");
        if (pat.revokedAt) return apiKeyView(pat);
        const reason = isAdmin(actor) && actor.principal.id !== pat.userId ? "revoked_by_admin" : "revoked";
        const updated = await tx
          .update(apiKeys)
          .set({ revokedAt: now, revokedReason: reason })
          .where(eq(apiKeys.id, id))
          .returning();
        await emit({ type: "key.revoked", keyId: pat.id, keyHash: pat.keyHash, reason });
        await ctx.changes.audit(
          tx,
          actor,
          { action: "pats.revoke", targetKind: "api_key", targetId: id },
          now,
        );
        const row = updated[0];
        if (!row) throw new Error("key update returned no row");
        return apiKeyView(row);
      });
    }),

    adminRoute(ctx, authAdminPatsRevokeAllForUser, async ({ actor, id }) => {
      requireAdmin(actor);
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        await getUser(tx, id, true);
        const revoked = await tx
          .update(apiKeys)
          .set({ revokedAt: now, revokedReason: "user_keys_revoked" })
          .where(and(eq(apiKeys.userId, id), eq(apiKeys.kind, "pat"), isNull(apiKeys.revokedAt)))
          .returning({ id: apiKeys.id });
        await emit({ type: "user.keys_revoked", userId: id });
        await ctx.changes.audit(
          tx,
          actor,
          {
            action: "pats.revoke_all_for_user",
            targetKind: "user",
            targetId: id,
            detail: { revoked: revoked.length },
          },
          now,
        );
        return { revoked: revoked.length };
      });
    }),

    adminRoute(ctx, authAdminPatsRevokeAll, async ({ actor }) => {
      requireAdmin(actor);
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        // Every PAT, the caller's own included: this is the "we leaked a PAT somewhere" button.
        // Virtual account tokens are not PATs and keep working.
        const revoked = await tx
          .update(apiKeys)
          .set({ revokedAt: now, revokedReason: "all_pats_revoked" })
          .where(and(eq(apiKeys.kind, "pat"), isNull(apiKeys.revokedAt)))
          .returning({ id: apiKeys.id });
        await emit({ type: "keys.all_revoked" });
        await ctx.changes.audit(
          tx,
          actor,
          {
            action: "pats.revoke_all",
            targetKind: "organisation",
            targetId: null,
            detail: { revoked: revoked.length },
          },
          now,
        );
        return { revoked: revoked.length };
      });
    }),
  ];
}
