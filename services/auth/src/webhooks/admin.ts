import { randomUUID } from "node:crypto";
import { requireAdmin } from "@gatehouse/access-events";
import type { Route } from "@gatehouse/bus";
import {
  authAdminWebhookDeliveriesList,
  authAdminWebhookEndpointsCreate,
  authAdminWebhookEndpointsDelete,
  authAdminWebhookEndpointsList,
  authAdminWebhookSecretsCreate,
  authAdminWebhookSecretsDelete,
  authAdminWebhookSecretsList,
  GatehouseError,
  type OutboundEventType,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookSecret,
} from "@gatehouse/contracts";
import { keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import type { EgressPolicy } from "@gatehouse/egress";
import { and, eq, type SQL } from "drizzle-orm";
import type { AuthContext } from "../context.js";
import { webhookDeliveries, webhookEndpoints, webhookSecrets } from "../db/webhooks-schema.js";
import { actorUserId, adminRoute } from "../handlers/common.js";
import { sealSecret } from "./crypto.js";
import { generateSecret } from "./signature.js";

/** Admin API for webhook secrets (inbound), endpoints (outbound) and deliveries. All admin-only, all audited. */
export function webhookAdminRoutes(ctx: AuthContext, egress: EgressPolicy): Route[] {
  const sealingKey = (): Buffer => {
    const key = ctx.config.webhooks.key;
    if (!key) throw new GatehouseError("conflict", "webhooks need AUTH_WEBHOOK_KEY to be configured on auth");
    return key;
  };
  return [
    adminRoute(ctx, authAdminWebhookSecretsCreate, async ({ actor, name }) => {
      requireAdmin(actor);
      const key = sealingKey();
      const now = ctx.now();
      const id = randomUUID();
      const secret = generateSecret();
      return ctx.changes.run(async (tx) => {
        const rows = await tx
          .insert(webhookSecrets)
          .values({
            id,
            name,
            secretCiphertext: sealSecret(key, id, secret),
            createdAt: now,
            createdBy: actorUserId(actor),
          })
          .returning();
        await ctx.changes.audit(
          tx,
          actor,
          { action: "webhook_secrets.create", targetKind: "webhook_secret", targetId: id, detail: { name } },
          now,
        );
        const row = rows[0];
        if (!row) throw new Error("insert returned no row");
        return { webhookSecret: secretView(row), secret };
      });
    }),

    adminRoute(ctx, authAdminWebhookSecretsList, async ({ actor, limit, cursor }) => {
      requireAdmin(actor);
      const rows = await ctx.db
        .select()
        .from(webhookSecrets)
        .where(keysetAfter(webhookSecrets.createdAt, webhookSecrets.id, cursor, "asc"))
        .orderBy(...keysetOrder(webhookSecrets.createdAt, webhookSecrets.id, "asc"))
        .limit(limit + 1);
      return pageFrom(rows, limit, (r) => ({ at: r.createdAt, id: r.id }), secretView);
    }),

    adminRoute(ctx, authAdminWebhookSecretsDelete, async ({ actor, id }) => {
      requireAdmin(actor);
      const now = ctx.now();
      return ctx.changes.run(async (tx) => {
        const rows = await tx.delete(webhookSecrets).where(eq(webhookSecrets.id, id)).returning();
        const row = rows[0];
        if (!row) throw new GatehouseError("not_found", "no such webhook secret");
        await ctx.changes.audit(
          tx,
          actor,
          { action: "webhook_secrets.delete", targetKind: "webhook_secret", targetId: id },
          now,
        );
        return secretView(row);
      });
    }),

    adminRoute(ctx, authAdminWebhookEndpointsCreate, async ({ actor, url, description, eventTypes }) => {
      requireAdmin(actor);
      // Refused on its face (an internal IP literal, `localhost`); names are judged at connect time.
      const refusal = egress.checkUrl(url);
      if (refusal) throw new GatehouseError("validation_failed", `url: ${refusal.message}`);
      const key = sealingKey();
      const now = ctx.now();
      const id = randomUUID();
      const secret = generateSecret();
      return ctx.changes.run(async (tx) => {
        const rows = await tx
          .insert(webhookEndpoints)
          .values({
            id,
            url,
            description,
            eventTypes: [...new Set(eventTypes)],
            secretCiphertext: sealSecret(key, id, secret),
            createdAt: now,
            createdBy: actorUserId(actor),
          })
          .returning();
        await ctx.changes.audit(
          tx,
          actor,
          {
            action: "webhook_endpoints.create",
            targetKind: "webhook_endpoint",
            targetId: id,
            detail: { url, eventTypes },
          },
          now,
        );
        const row = rows[0];
        if (!row) throw new Error("insert returned no row");
        return { endpoint: endpointView(row), secret };
      });
    }),

    adminRoute(ctx, authAdminWebhookEndpointsList, async ({ actor, limit, cursor }) => {
      requireAdmin(actor);
      const rows = await ctx.db
        .select()
        .from(webhookEndpoints)
        .where(keysetAfter(webhookEndpoints.createdAt, webhookEndpoints.id, cursor, "asc"))
        .orderBy(...keysetOrder(webhookEndpoints.createdAt, webhookEndpoints.id, "asc"))
        .limit(limit + 1);
      return pageFrom(rows, limit, (r) => ({ at: r.createdAt, id: r.id }), endpointView);
    }),

    adminRoute(ctx, authAdminWebhookEndpointsDelete, async ({ actor, id }) => {
      requireAdmin(actor);
      const now = ctx.now();
      return ctx.changes.run(async (tx) => {
        const rows = await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning();
        const row = rows[0];
        if (!row) throw new GatehouseError("not_found", "no such webhook endpoint");
        await ctx.changes.audit(
          tx,
          actor,
          {
            action: "webhook_endpoints.delete",
            targetKind: "webhook_endpoint",
            targetId: id,
            detail: { url: row.url },
          },
          now,
        );
        return endpointView(row);
      });
    }),

    adminRoute(ctx, authAdminWebhookDeliveriesList, async ({ actor, endpointId, status, limit, cursor }) => {
      requireAdmin(actor);
      const conditions: SQL[] = [
        keysetAfter(webhookDeliveries.createdAt, webhookDeliveries.id, cursor, "desc"),
      ];
      if (endpointId) conditions.push(eq(webhookDeliveries.endpointId, endpointId));
      if (status) conditions.push(eq(webhookDeliveries.status, status));
      const rows = await ctx.db
        .select()
        .from(webhookDeliveries)
        .where(and(...conditions))
        .orderBy(...keysetOrder(webhookDeliveries.createdAt, webhookDeliveries.id, "desc"))
        .limit(limit + 1);
      return pageFrom(rows, limit, (r) => ({ at: r.createdAt, id: r.id }), deliveryView);
    }),
  ];
}

function secretView(r: typeof webhookSecrets.$inferSelect): WebhookSecret {
  return { id: r.id, name: r.name, createdAt: r.createdAt.toISOString() };
}

function endpointView(r: typeof webhookEndpoints.$inferSelect): WebhookEndpoint {
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    eventTypes: r.eventTypes as OutboundEventType[],
    createdAt: r.createdAt.toISOString(),
  };
}

function deliveryView(r: typeof webhookDeliveries.$inferSelect): WebhookDelivery {
  return {
    id: r.id,
    endpointId: r.endpointId,
    eventType: r.eventType as OutboundEventType,
    status: r.status,
    attempts: r.attempts,
    lastStatus: r.lastStatus,
    lastError: r.lastError,
    createdAt: r.createdAt.toISOString(),
    nextAttemptAt: r.status === "pending" ? (r.nextAttemptAt?.toISOString() ?? null) : null,
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
    payload: r.payload,
  };
}
