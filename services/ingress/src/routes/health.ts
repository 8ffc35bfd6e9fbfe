import { pingService } from "@gatehouse/bus";
import type { FastifyPluginAsync } from "fastify";
import type { IngressContext } from "../context.js";

const BACKING_SERVICES = ["auth", "acl", "dispatch"] as const;

/**
 * `/healthz`: the process is up. `/readyz`: NATS is connected and each backing service answers a
 * `$SRV.PING` — a load balancer stops sending traffic to a replica that cannot serve it.
 */
export const healthRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (app, { ctx }) => {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const natsConnected = ctx.bus.isConnected();
    const results = natsConnected
      ? await Promise.all(
          BACKING_SERVICES.map(
            async (s) =>
              [
                s,
                await pingService(ctx.bus.nc, ctx.config.prefix, s, ctx.config.readyPingTimeoutMs),
              ] as const,
          ),
        )
      : BACKING_SERVICES.map((s) => [s, false] as const);
    const services = Object.fromEntries(results.map(([s, ok]) => [s, ok ? "ok" : "unavailable"]));
    const ready = natsConnected && results.every(([, ok]) => ok);
    return reply.code(ready ? 200 : 503).send({
      status: ready ? "ready" : "not_ready",
      nats: natsConnected ? "connected" : "disconnected",
      services,
    });
  });
};
