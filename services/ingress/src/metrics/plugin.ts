import type { FastifyPluginAsync } from "fastify";
import type { IngressContext } from "../context.js";
import { createIngressMetrics } from "./registry.js";

/**
 * `GET /metrics` in the Prometheus text format: this replica's series and, under `pnpm start`, every
 * service's (they share one registry). Unauthenticated like `/healthz`: it carries counts and
 * timings labelled by configured account and model names only, never keys or user ids. The shipped load balancer (infra/nginx) does not serve it on the
 * published port; put the same rule in front of any other deployment.
 */
export const metricsRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (app, { ctx }) => {
  const metrics = createIngressMetrics(ctx.feed, ctx.metrics.registry);
  app.addHook("onClose", async () => metrics.close());
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
};
