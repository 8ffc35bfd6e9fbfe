import type { Route } from "@gatehouse/bus";
import { EgressPolicy } from "@gatehouse/egress";
import type { NatsConnection } from "nats";
import type { AuthContext } from "../context.js";
import { webhookAdminRoutes } from "./admin.js";
import { inboundRoute } from "./inbound.js";
import { followGrantRemovals, startWebhookWorker } from "./worker.js";

/**
 * Revocation webhooks, in and out: the inbound verifier, the admin API, the delivery worker and the
 * follower of acl's grant removals. Returns the routes; registers its stops with `onStop`.
 */
export async function setupWebhooks(
  ctx: AuthContext,
  nc: NatsConnection,
  prefix: string,
  onStop: (name: string, fn: () => Promise<void>) => void,
): Promise<Route[]> {
  const egress = new EgressPolicy(ctx.config.webhooks.egress);
  ctx.logger.info({ egress: egress.describe() }, "egress policy: public addresses, plus these");
  const worker = startWebhookWorker(ctx, egress);
  onStop("webhook-worker", () => worker.stop());
  const stopGrants = await followGrantRemovals(ctx, nc, prefix);
  onStop("webhook-grant-follower", stopGrants);
  return [inboundRoute(ctx), ...webhookAdminRoutes(ctx, egress)];
}
