import * as bus from "@gatehouse/contracts";
import { OutboundEventType, WebhookUrl } from "@gatehouse/contracts";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, camelArgs, IdParams, PageQuery, snakeView, Time, typed } from "../http.js";

const SecretOut = z.object({ id: z.uuid(), name: z.string(), created_at: Time });
const EndpointOut = z.object({
  id: z.uuid(),
  url: z.string(),
  description: z.string(),
  event_types: z.array(OutboundEventType),
  created_at: Time,
});
const DeliveryOut = z.object({
  id: z.uuid(),
  endpoint_id: z.uuid(),
  event_type: OutboundEventType,
  status: z.enum(["pending", "delivered", "failed"]),
  attempts: z.number().int(),
  last_status: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: Time,
  next_attempt_at: Time.nullable(),
  delivered_at: Time.nullable(),
  payload: z.record(z.string(), z.unknown()),
});
const Shown = z.string().describe("The signing secret (whsec_…). Shown only in this response; store it now.");

const secretOut = snakeView(SecretOut);
const endpointOut = snakeView(EndpointOut);
const deliveryOut = snakeView(DeliveryOut);

/** Admin API for revocation webhooks: inbound signing secrets, outbound endpoints, deliveries. */
export const webhookAdminRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (plain, { ctx }) => {
  const app = typed(plain);
  const tags = ["webhooks"];
  const base = "/api/v1/webhooks";
  const byId = ({ params }: { params: { id: string } }) => ({ id: params.id });

  adminRoute(app, ctx, {
    method: "POST",
    url: `${base}/secrets`,
    tags,
    summary: "Create a signing secret for inbound revocation webhooks (admin)",
    body: z.strictObject({ name: z.string().trim().min(1).max(200) }),
    response: SecretOut.extend({ secret: Shown }),
    status: 201,
    endpoint: bus.authAdminWebhookSecretsCreate,
    request: ({ body }) => body,
    view: (r) => ({ ...secretOut(r.webhookSecret), secret: r.secret }),
  });
  adminList(app, ctx, {
    url: `${base}/secrets`,
    tags,
    summary: "List inbound webhook secrets (admin)",
    item: SecretOut,
    endpoint: bus.authAdminWebhookSecretsList,
    view: secretOut,
  });
  adminRoute(app, ctx, {
    method: "DELETE",
    url: `${base}/secrets/:id`,
    tags,
    summary: "Delete an inbound webhook secret (admin)",
    params: IdParams,
    response: SecretOut,
    endpoint: bus.authAdminWebhookSecretsDelete,
    request: byId,
    view: secretOut,
  });

  adminRoute(app, ctx, {
    method: "POST",
    url: `${base}/endpoints`,
    tags,
    summary: "Register an endpoint for outbound events (admin)",
    body: z.strictObject({
      url: WebhookUrl,
      description: z.string().max(2_000).default(""),
      event_types: z.array(OutboundEventType).min(1),
    }),
    response: EndpointOut.extend({ secret: Shown }),
    status: 201,
    endpoint: bus.authAdminWebhookEndpointsCreate,
    request: ({ body }) => ({ url: body.url, description: body.description, eventTypes: body.event_types }),
    view: (r) => ({ ...endpointOut(r.endpoint), secret: r.secret }),
  });
  adminList(app, ctx, {
    url: `${base}/endpoints`,
    tags,
    summary: "List outbound webhook endpoints (admin)",
    item: EndpointOut,
    endpoint: bus.authAdminWebhookEndpointsList,
    view: endpointOut,
  });
  adminRoute(app, ctx, {
    method: "DELETE",
    url: `${base}/endpoints/:id`,
    tags,
    summary: "Delete an outbound webhook endpoint and its deliveries (admin)",
    params: IdParams,
    response: EndpointOut,
    endpoint: bus.authAdminWebhookEndpointsDelete,
    request: byId,
    view: endpointOut,
  });
  adminList(app, ctx, {
    url: `${base}/deliveries`,
    tags,
    summary: "List outbound deliveries, newest first, with their state (admin)",
    querystring: PageQuery.extend({
      endpoint_id: z.uuid().optional(),
      status: z.enum(["pending", "delivered", "failed"]).optional(),
    }),
    item: DeliveryOut,
    endpoint: bus.authAdminWebhookDeliveriesList,
    request: ({ query: { endpoint_id, status } }) => camelArgs({ endpoint_id, status }),
    view: deliveryOut,
  });
};
