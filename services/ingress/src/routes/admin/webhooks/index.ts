import {
  authAdminWebhookDeliveriesList,
  authAdminWebhookEndpointsCreate,
  authAdminWebhookEndpointsDelete,
  authAdminWebhookEndpointsList,
  authAdminWebhookSecretsCreate,
  authAdminWebhookSecretsDelete,
  authAdminWebhookSecretsList,
  OutboundEventType,
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookSecret,
  WebhookUrl,
} from "@gatehouse/contracts";
import type { FastifyPluginAsync } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { IngressContext } from "../../../context.js";
import { actorOf, IdParams, listOf, PageQuery, page, pageArgs } from "../identity/views.js";

const Time = z.string().describe("ISO-8601 date-time");
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

const secretOut = (s: WebhookSecret) => ({ id: s.id, name: s.name, created_at: s.createdAt });
const endpointOut = (e: WebhookEndpoint) => ({
  id: e.id,
  url: e.url,
  description: e.description,
  event_types: e.eventTypes,
  created_at: e.createdAt,
});
const deliveryOut = (d: WebhookDelivery) => ({
  id: d.id,
  endpoint_id: d.endpointId,
  event_type: d.eventType,
  status: d.status,
  attempts: d.attempts,
  last_status: d.lastStatus,
  last_error: d.lastError,
  created_at: d.createdAt,
  next_attempt_at: d.nextAttemptAt,
  delivered_at: d.deliveredAt,
  payload: d.payload,
});

/** Admin API for revocation webhooks: inbound signing secrets, outbound endpoints, deliveries. */
export const webhookAdminRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (plain, { ctx }) => {
  const app = plain.withTypeProvider<ZodTypeProvider>();
  const tags = ["webhooks"];
  const base = "/api/v1/webhooks";

  app.post(
    `${base}/secrets`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Create a signing secret for inbound revocation webhooks (admin)",
        body: z.strictObject({ name: z.string().trim().min(1).max(200) }),
        response: { 201: SecretOut.extend({ secret: Shown }) },
      },
    },
    async (request, reply) => {
      const r = await ctx.client.request(authAdminWebhookSecretsCreate, {
        actor: actorOf(request),
        name: request.body.name,
      });
      return reply.code(201).send({ ...secretOut(r.webhookSecret), secret: r.secret });
    },
  );
  app.get(
    `${base}/secrets`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "List inbound webhook secrets (admin)",
        querystring: PageQuery,
        response: { 200: listOf(SecretOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(authAdminWebhookSecretsList, {
          actor: actorOf(request),
          ...pageArgs(request.query),
        }),
        secretOut,
      ),
  );
  app.delete(
    `${base}/secrets/:id`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Delete an inbound webhook secret (admin)",
        params: IdParams,
        response: { 200: SecretOut },
      },
    },
    async (request) =>
      secretOut(
        await ctx.client.request(authAdminWebhookSecretsDelete, {
          actor: actorOf(request),
          id: request.params.id,
        }),
      ),
  );

  app.post(
    `${base}/endpoints`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Register an endpoint for outbound events (admin)",
        body: z.strictObject({
          url: WebhookUrl,
          description: z.string().max(2_000).default(""),
          event_types: z.array(OutboundEventType).min(1),
        }),
        response: { 201: EndpointOut.extend({ secret: Shown }) },
      },
    },
    async (request, reply) => {
      const { url, description, event_types } = request.body;
      const r = await ctx.client.request(authAdminWebhookEndpointsCreate, {
        actor: actorOf(request),
        url,
        description,
        eventTypes: event_types,
      });
      return reply.code(201).send({ ...endpointOut(r.endpoint), secret: r.secret });
    },
  );
  app.get(
    `${base}/endpoints`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "List outbound webhook endpoints (admin)",
        querystring: PageQuery,
        response: { 200: listOf(EndpointOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(authAdminWebhookEndpointsList, {
          actor: actorOf(request),
          ...pageArgs(request.query),
        }),
        endpointOut,
      ),
  );
  app.delete(
    `${base}/endpoints/:id`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Delete an outbound webhook endpoint and its deliveries (admin)",
        params: IdParams,
        response: { 200: EndpointOut },
      },
    },
    async (request) =>
      endpointOut(
        await ctx.client.request(authAdminWebhookEndpointsDelete, {
          actor: actorOf(request),
          id: request.params.id,
        }),
      ),
  );
  app.get(
    `${base}/deliveries`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "List outbound deliveries, newest first, with their state (admin)",
        querystring: PageQuery.extend({
          endpoint_id: z.uuid().optional(),
          status: z.enum(["pending", "delivered", "failed"]).optional(),
        }),
        response: { 200: listOf(DeliveryOut) },
      },
    },
    async (request) => {
      const { endpoint_id, status } = request.query;
      return page(
        await ctx.client.request(authAdminWebhookDeliveriesList, {
          actor: actorOf(request),
          ...pageArgs(request.query),
          ...(endpoint_id === undefined ? {} : { endpointId: endpoint_id }),
          ...(status === undefined ? {} : { status }),
        }),
        deliveryOut,
      );
    },
  );
};
