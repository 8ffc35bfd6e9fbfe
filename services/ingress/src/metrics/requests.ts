import { type GatehouseMetrics, NONE, OTHER } from "@gatehouse/kit";
import type { FastifyInstance, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    /** The account and model label values of an authorized call (see `labelTarget`). */
    metricsAccount: string | undefined;
    metricsModel: string | undefined;
  }
}

/** Inference routes carry their dialect in the route config; other routes have no model to label. */
function isInference(request: FastifyRequest): boolean {
  return (request.routeOptions.config as { dialect?: string } | undefined)?.dialect !== undefined;
}

/**
 * Counts every answered request with its duration (a stream's whole length) in one `onResponse`
 * hook. Labels: the route template (never the URL), the status class, and the account and model
 * only once authorization resolved them to configured ones — an inference call naming anything
 * else is `other` and a route without a model `none`, so no request can add a series.
 */
export function countRequests(app: FastifyInstance, metrics: GatehouseMetrics): void {
  app.decorateRequest("metricsAccount", undefined);
  app.decorateRequest("metricsModel", undefined);
  app.addHook("onResponse", (request, reply, done) => {
    const unresolved = request.metricsAccount === undefined ? (isInference(request) ? OTHER : NONE) : "";
    metrics.request(
      request.routeOptions.url,
      reply.statusCode,
      request.metricsAccount ?? unresolved,
      request.metricsModel ?? unresolved,
      reply.elapsedTime / 1000,
    );
    done();
  });
}

/** Called once a call's target is authorized: from then on its metrics carry the account and model. */
export function labelTarget(
  metrics: GatehouseMetrics,
  request: FastifyRequest,
  target: { account?: string | undefined; model?: string; route?: string | undefined },
): void {
  if (target.route !== undefined) {
    // A route's target is chosen by dispatch; the call is counted under the route's (existing) name.
    request.metricsAccount = ROUTE_ACCOUNT_LABEL;
    request.metricsModel = metrics.models.value(target.route);
    return;
  }
  request.metricsAccount = metrics.accounts.value(target.account ?? "");
  request.metricsModel = metrics.models.value(target.model ?? "");
}

/** The account label of a call made through a route (not a valid account name, so never one's). */
export const ROUTE_ACCOUNT_LABEL = "(route)";
