import { z } from "zod";
import { Actor, IsoDateTime, ListRequest, Page, pageOf, Uuid } from "./common.js";
import { Propagated } from "./events.js";
import { defineEndpoint } from "./subjects.js";

/**
 * Revocation webhooks (Standard Webhooks signing). Inbound: ingress forwards the raw body and the
 * three signature headers; auth holds the secrets, verifies, deduplicates by `webhook-id` and
 * applies. Outbound: auth signs and delivers events to endpoints admins registered.
 */

/** What ingress forwards of an inbound webhook: the headers as received, the body byte for byte. */
export const InboundWebhookRequest = z.object({
  id: z.string().max(256),
  timestamp: z.string().max(32),
  signature: z.string().max(4_096),
  /** The raw request body, base64 (the signature covers the exact bytes). */
  bodyBase64: z.string().max(128 * 1024),
});
export type InboundWebhookRequest = z.infer<typeof InboundWebhookRequest>;

/**
 * `matched: false` when no user or key matched (the same answer for any unknown value, so a
 * scanner learns nothing); `duplicate: true` when this `webhook-id` was applied before.
 */
export const InboundWebhookResponse = z.object({
  matched: z.boolean(),
  duplicate: z.boolean(),
  ...Propagated,
});
export type InboundWebhookResponse = z.infer<typeof InboundWebhookResponse>;

/** The inbound event bodies: `{ "type": ..., "data": {...} }` (Standard Webhooks payload shape). */
const UserRef = z.union([
  z.strictObject({ email: z.email().max(320) }),
  z.strictObject({ external_id: z.string().min(1).max(256) }),
]);
export const InboundRevocation = z.discriminatedUnion("type", [
  z.object({ type: z.literal("user.deactivate"), timestamp: z.string().optional(), data: UserRef }),
  z.object({ type: z.literal("user.revoke_pats"), timestamp: z.string().optional(), data: UserRef }),
  z.object({
    type: z.literal("key.revoke"),
    timestamp: z.string().optional(),
    data: z.strictObject({ key_id: Uuid }),
  }),
  z.object({
    type: z.literal("key.revoke_by_value"),
    timestamp: z.string().optional(),
    data: z.strictObject({ key: z.string().min(1).max(512) }),
  }),
]);
export type InboundRevocation = z.infer<typeof InboundRevocation>;

export const OUTBOUND_EVENT_TYPES = [
  "key.created",
  "key.revoked",
  "key.regenerated",
  "key.expiring",
  "user.deactivated",
  "grant.removed",
  "budget.threshold",
  "budget.exhausted",
] as const;
export const OutboundEventType = z.enum(OUTBOUND_EVENT_TYPES);
export type OutboundEventType = z.infer<typeof OutboundEventType>;

export const WebhookSecret = z.object({ id: Uuid, name: z.string(), createdAt: IsoDateTime });
export type WebhookSecret = z.infer<typeof WebhookSecret>;
export const CreatedWebhookSecret = z.object({ webhookSecret: WebhookSecret, secret: z.string() });

export const WebhookEndpoint = z.object({
  id: Uuid,
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(OutboundEventType),
  createdAt: IsoDateTime,
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpoint>;
export const CreatedWebhookEndpoint = z.object({ endpoint: WebhookEndpoint, secret: z.string() });

export const DeliveryStatus = z.enum(["pending", "delivered", "failed"]);
export const WebhookDelivery = z.object({
  id: Uuid,
  endpointId: Uuid,
  eventType: OutboundEventType,
  status: DeliveryStatus,
  attempts: z.number().int(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: IsoDateTime,
  nextAttemptAt: IsoDateTime.nullable(),
  deliveredAt: IsoDateTime.nullable(),
  payload: z.record(z.string(), z.unknown()),
});
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

/** Outbound URLs: http(s) only. */
export const WebhookUrl = z.url({ protocol: /^https?$/ }).max(2_048);

export const authWebhooksRevocations = defineEndpoint(
  "auth",
  "webhooks.revocations",
  InboundWebhookRequest,
  InboundWebhookResponse,
);
export const authAdminWebhookSecretsCreate = defineEndpoint(
  "auth",
  "admin.webhook_secrets.create",
  z.object({ actor: Actor, name: z.string().trim().min(1).max(200) }),
  CreatedWebhookSecret,
);
export const authAdminWebhookSecretsList = defineEndpoint(
  "auth",
  "admin.webhook_secrets.list",
  ListRequest,
  pageOf(WebhookSecret),
);
export const authAdminWebhookSecretsDelete = defineEndpoint(
  "auth",
  "admin.webhook_secrets.delete",
  z.object({ actor: Actor, id: Uuid }),
  WebhookSecret,
);
export const authAdminWebhookEndpointsCreate = defineEndpoint(
  "auth",
  "admin.webhook_endpoints.create",
  z.object({
    actor: Actor,
    url: WebhookUrl,
    description: z.string().max(2_000).default(""),
    eventTypes: z.array(OutboundEventType).min(1),
  }),
  CreatedWebhookEndpoint,
);
export const authAdminWebhookEndpointsList = defineEndpoint(
  "auth",
  "admin.webhook_endpoints.list",
  ListRequest,
  pageOf(WebhookEndpoint),
);
export const authAdminWebhookEndpointsDelete = defineEndpoint(
  "auth",
  "admin.webhook_endpoints.delete",
  z.object({ actor: Actor, id: Uuid }),
  WebhookEndpoint,
);
export const authAdminWebhookDeliveriesList = defineEndpoint(
  "auth",
  "admin.webhook_deliveries.list",
  z.object({ actor: Actor, endpointId: Uuid.optional(), status: DeliveryStatus.optional(), ...Page }),
  pageOf(WebhookDelivery),
);
