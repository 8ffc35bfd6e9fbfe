import { requireAdmin } from "@gatehouse/access-events";
import type { Route } from "@gatehouse/bus";
import {
  authAdminVatsCreate,
  authAdminVatsList,
  authAdminVatsRegenerate,
  authAdminVatsRevoke,
  GatehouseError,
} from "@gatehouse/contracts";
import { keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, eq } from "drizzle-orm";
import type { AuthContext, AuthTx } from "../context.js";
import { getLiveVirtualAccount } from "../db/queries.js";
import { apiKeys } from "../db/schema.js";
import { apiKeyView } from "../db/views.js";
import { rotationOf } from "../domain/validate.js";
import { enqueueWebhook, keyEventData } from "../webhooks/outbound.js";
import { actorUserId, adminRoute, futureExpiry, insertKey } from "./common.js";

async function lockVat(tx: AuthTx, virtualAccountId: string, tokenId: string) {
  const rows = await tx
    .select()
    .from(apiKeys)
    .where(
      and(eq(apiKeys.id, tokenId), eq(apiKeys.virtualAccountId, virtualAccountId), eq(apiKeys.kind, "vat")),
    )
    .for("update")
    .limit(1);
  const row = rows[0];
  if (!row) throw new GatehouseError("not_found", "no such virtual account token");
  return row;
}

/** The earlier of two optional instants (null = never). */
function earliest(a: Date | null, b: Date | null): Date | null {
  if (!a) return b;
  if (!b) return a;
  return a < b ? a : b;
}

export function vatRoutes(ctx: AuthContext): Route[] {
  return [
    adminRoute(ctx, authAdminVatsCreate, async ({ actor, virtualAccountId, name, expiresAt, ...form }) => {
      requireAdmin(actor);
      const now = ctx.now();
      const requested = futureExpiry(expiresAt, now);
      return ctx.changes.run(async (tx) => {
        const va = await getLiveVirtualAccount(tx, virtualAccountId);
        const row = await insertKey(tx, {
          kind: "vat",
          name,
          virtualAccountId,
          createdBy: actorUserId(actor),
          // A key never outlives its virtual account.
          expiresAt: earliest(requested, va.expiresAt),
          now,
          keyHash: form.keyHash,
          displayHint: form.displayHint,
        });
        await ctx.changes.audit(
          tx,
          actor,
          {
            action: "vats.create",
            targetKind: "api_key",
            targetId: row.id,
            detail: { virtualAccountId, name },
          },
          now,
        );
        await enqueueWebhook(tx, "key.created", keyEventData(row), now);
        return { apiKey: apiKeyView(row) };
      });
    }),

    adminRoute(ctx, authAdminVatsList, async ({ actor, virtualAccountId, limit, cursor }) => {
      requireAdmin(actor);
      await getLiveVirtualAccount(ctx.db, virtualAccountId);
      const rows = await ctx.db
        .select()
        .from(apiKeys)
        .where(
          and(
            eq(apiKeys.virtualAccountId, virtualAccountId),
            keysetAfter(apiKeys.createdAt, apiKeys.id, cursor, "asc"),
          ),
        )
        .orderBy(...keysetOrder(apiKeys.createdAt, apiKeys.id, "asc"))
        .limit(limit + 1);
      return pageFrom(rows, limit, (r) => ({ at: r.createdAt, id: r.id }), apiKeyView);
    }),

    adminRoute(
      ctx,
      authAdminVatsRegenerate,
      async ({ actor, virtualAccountId, tokenId, gracePeriodSeconds, keyHash, displayHint }) => {
        requireAdmin(actor);
        const now = ctx.now();
        return ctx.changes.revoking(async (tx, emit) => {
          const va = await getLiveVirtualAccount(tx, virtualAccountId);
          const old = await lockVat(tx, virtualAccountId, tokenId);
          if (old.revokedAt) throw new GatehouseError("conflict", "this token is revoked");
          if (old.replacedBy) throw new GatehouseError("conflict", "this token was already regenerated");
          if (old.expiresAt && old.expiresAt <= now)
            throw new GatehouseError("conflict", "this token has expired");
          const row = await insertKey(tx, {
            kind: "vat",
            name: old.name,
            virtualAccountId,
            createdBy: actorUserId(actor),
            // The new key keeps the old one's expiry (regenerating is not a way to extend access).
            expiresAt: earliest(old.expiresAt, va.expiresAt),
            now,
            keyHash,
            displayHint,
          });
          const rotation = rotationOf(old.expiresAt, now, gracePeriodSeconds);
          const previous = await tx
            .update(apiKeys)
            .set(
              rotation.revokeNow
                ? { replacedBy: row.id, revokedAt: now, revokedReason: "rotated" }
                : { replacedBy: row.id, expiresAt: rotation.expiresAt },
            )
            .where(eq(apiKeys.id, old.id))
            .returning();
          if (rotation.revokeNow) {
            await emit({ type: "key.revoked", keyId: old.id, keyHash: old.keyHash, reason: "rotated" });
          } else if (!old.expiresAt || rotation.expiresAt < old.expiresAt) {
            // A shorter life is an access change: replicas cached the old key with a lifetime
            // computed from its old expiry, and must not keep it past the new one.
            await emit({
              type: "key.expiry_shortened",
              keyId: old.id,
              keyHash: old.keyHash,
              expiresAt: rotation.expiresAt.toISOString(),
            });
          }
          await ctx.changes.audit(
            tx,
            actor,
            {
              action: "vats.regenerate",
              targetKind: "api_key",
              targetId: old.id,
              detail: { virtualAccountId, newKeyId: row.id, gracePeriodSeconds },
            },
            now,
          );
          const prev = previous[0];
          if (!prev) throw new Error("key update returned no row");
          await enqueueWebhook(
            tx,
            "key.regenerated",
            { ...keyEventData(row), previous_key_id: old.id, grace_period_seconds: gracePeriodSeconds },
            now,
          );
          return { apiKey: apiKeyView(row), previous: apiKeyView(prev) };
        });
      },
    ),

    adminRoute(ctx, authAdminVatsRevoke, async ({ actor, virtualAccountId, tokenId }) => {
      requireAdmin(actor);
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        await getLiveVirtualAccount(tx, virtualAccountId);
        const vat = await lockVat(tx, virtualAccountId, tokenId);
        if (vat.revokedAt) return apiKeyView(vat);
        const updated = await tx
          .update(apiKeys)
          .set({ revokedAt: now, revokedReason: "revoked_by_admin" })
          .where(eq(apiKeys.id, vat.id))
          .returning();
        await emit({ type: "key.revoked", keyId: vat.id, keyHash: vat.keyHash, reason: "revoked_by_admin" });
        await ctx.changes.audit(
          tx,
          actor,
          { action: "vats.revoke", targetKind: "api_key", targetId: vat.id },
          now,
        );
        const row = updated[0];
        if (!row) throw new Error("key update returned no row");
        return apiKeyView(row);
      });
    }),
  ];
}
