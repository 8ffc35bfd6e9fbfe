import type { FastifyPluginAsync } from "fastify";
import { authorizeTarget } from "./access/index.js";
import type { IngressContext } from "./context.js";
import { metricsRoutes } from "./metrics/plugin.js";
import { accessAdminRoutes } from "./routes/admin/access/index.js";
import { identityRoutes } from "./routes/admin/identity/index.js";
import { limitRoutes } from "./routes/admin/limits/index.js";
import { usageRoutes } from "./routes/admin/usage/index.js";
import { healthRoutes } from "./routes/health.js";
import { inferenceRoutes } from "./routes/inference/plugin.js";
import { modelsRoutes } from "./routes/openai/models.js";
import { webhookRoutes } from "./routes/webhooks/plugin.js";

/**
 * The feature plugins ingress serves, in registration order. Each is a fastify plugin in its own
 * folder; this list is the only place they meet.
 */
export const featurePlugins: ReadonlyArray<FastifyPluginAsync<{ ctx: IngressContext }>> = [
  healthRoutes,
  metricsRoutes,
  webhookRoutes,
  identityRoutes,
  accessAdminRoutes,
  usageRoutes,
  limitRoutes,
  modelsRoutes,
  inferenceRoutes(authorizeTarget),
];
