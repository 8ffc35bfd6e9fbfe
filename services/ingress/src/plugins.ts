import type { FastifyPluginAsync } from "fastify";
import type { IngressContext } from "./context.js";
import { healthRoutes } from "./routes/health.js";

/**
 * The feature plugins ingress serves, in registration order. Each is a fastify plugin in its own
 * folder; this list is the only place they meet.
 */
export const featurePlugins: ReadonlyArray<FastifyPluginAsync<{ ctx: IngressContext }>> = [healthRoutes];
