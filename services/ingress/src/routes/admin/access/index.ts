import type { FastifyPluginAsync } from "fastify";
import type { IngressContext } from "../../../context.js";
import { typed } from "../http.js";
import { accountRoutes } from "./accounts.js";
import { grantRoutes } from "./grants.js";
import { routeRoutes } from "./routes.js";
import { teamRoutes } from "./teams.js";

/**
 * The access-control admin API under /api/v1: provider accounts, grants, teams, routes and their audit log.
 * Authentication runs on `onRequest`, before the body is read, so an unauthenticated caller learns
 * nothing from validation errors. Authorization is decided by dispatch and acl, not here.
 */
export const accessAdminRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (app, { ctx }) => {
  const z = typed(app);
  accountRoutes(z, ctx);
  grantRoutes(z, ctx);
  teamRoutes(z, ctx);
  routeRoutes(z, ctx);
};
