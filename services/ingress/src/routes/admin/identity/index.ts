import type { FastifyPluginAsync } from "fastify";
import type { IngressContext } from "../../../context.js";
import { typed } from "../http.js";
import { auditRoutes } from "./audit.js";
import { tokenRoutes } from "./tokens.js";
import { userRoutes } from "./users.js";
import { virtualAccountRoutes } from "./virtual-accounts.js";

/**
 * The identity admin API under /api/v1: users, personal access tokens, virtual accounts and their
 * tokens, the audit log. Authentication runs on `onRequest`, before the body is even read, so an
 * unauthenticated caller learns nothing from validation errors. Authorization is the auth service's.
 */
export const identityRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (app, { ctx }) => {
  const z = typed(app);
  userRoutes(z, ctx);
  tokenRoutes(z, ctx);
  virtualAccountRoutes(z, ctx);
  auditRoutes(z, ctx);
};
