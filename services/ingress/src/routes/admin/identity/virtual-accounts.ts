import {
  authAdminVirtualAccountsCreate,
  authAdminVirtualAccountsDelete,
  authAdminVirtualAccountsGet,
  authAdminVirtualAccountsList,
} from "@gatehouse/contracts";
import type { IngressContext } from "../../../context.js";
import { Propagated, revokedOut } from "../propagation.js";
import type { ZodApp } from "./index.js";
import {
  actorOf,
  CreateVirtualAccountBody,
  IdParams,
  listOf,
  PageQuery,
  page,
  pageArgs,
  VirtualAccountOut,
  virtualAccountOut,
} from "./views.js";

export function virtualAccountRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["virtual accounts"];

  app.post(
    "/api/v1/virtual-accounts",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Create a virtual account (admin)",
        body: CreateVirtualAccountBody,
        response: { 201: VirtualAccountOut },
      },
    },
    async (request, reply) => {
      const { name, description, expires_at } = request.body;
      const va = await ctx.client.request(authAdminVirtualAccountsCreate, {
        actor: actorOf(request),
        name,
        description,
        ...(expires_at === undefined ? {} : { expiresAt: expires_at }),
      });
      return reply.code(201).send(virtualAccountOut(va));
    },
  );

  app.get(
    "/api/v1/virtual-accounts",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "List virtual accounts (admin)",
        querystring: PageQuery,
        response: { 200: listOf(VirtualAccountOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(authAdminVirtualAccountsList, {
          actor: actorOf(request),
          ...pageArgs(request.query),
        }),
        virtualAccountOut,
      ),
  );

  app.get(
    "/api/v1/virtual-accounts/:id",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Get a virtual account (admin)",
        params: IdParams,
        response: { 200: VirtualAccountOut },
      },
    },
    async (request) =>
      virtualAccountOut(
        await ctx.client.request(authAdminVirtualAccountsGet, {
          actor: actorOf(request),
          id: request.params.id,
        }),
      ),
  );

  app.delete(
    "/api/v1/virtual-accounts/:id",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Delete a virtual account (admin); its tokens stop working at once",
        params: IdParams,
        response: { 200: VirtualAccountOut.extend(Propagated) },
      },
    },
    async (request) =>
      revokedOut(
        virtualAccountOut,
        await ctx.client.request(authAdminVirtualAccountsDelete, {
          actor: actorOf(request),
          id: request.params.id,
        }),
      ),
  );
}
