import {
  authAdminMe,
  authAdminUsersCreate,
  authAdminUsersDeactivate,
  authAdminUsersGet,
  authAdminUsersList,
  authAdminUsersReactivate,
} from "@gatehouse/contracts";
import type { IngressContext } from "../../../context.js";
import { Propagated, revokedOut } from "../propagation.js";
import type { ZodApp } from "./index.js";
import {
  actorOf,
  CreateUserBody,
  IdParams,
  listOf,
  MeOut,
  meOut,
  PageQuery,
  page,
  pageArgs,
  UserOut,
  userOut,
} from "./views.js";

export function userRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["users"];

  app.get(
    "/api/v1/me",
    {
      onRequest: ctx.authenticate,
      schema: { tags, summary: "Who the API key speaks for", response: { 200: MeOut } },
    },
    async (request) => meOut(await ctx.client.request(authAdminMe, { actor: actorOf(request) })),
  );

  app.post(
    "/api/v1/users",
    {
      onRequest: ctx.authenticate,
      schema: { tags, summary: "Create a user (admin)", body: CreateUserBody, response: { 201: UserOut } },
    },
    async (request, reply) => {
      const { email, name, role, external_id } = request.body;
      const user = await ctx.client.request(authAdminUsersCreate, {
        actor: actorOf(request),
        email,
        name,
        role,
        ...(external_id === undefined ? {} : { externalId: external_id }),
      });
      return reply.code(201).send(userOut(user));
    },
  );

  app.get(
    "/api/v1/users",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "List users (admin)",
        querystring: PageQuery,
        response: { 200: listOf(UserOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(authAdminUsersList, { actor: actorOf(request), ...pageArgs(request.query) }),
        userOut,
      ),
  );

  app.get(
    "/api/v1/users/:id",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Get a user (admin, or yourself)",
        params: IdParams,
        response: { 200: UserOut },
      },
    },
    async (request) =>
      userOut(
        await ctx.client.request(authAdminUsersGet, { actor: actorOf(request), id: request.params.id }),
      ),
  );

  app.post(
    "/api/v1/users/:id/deactivate",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Deactivate a user (admin): all of their personal access tokens stop working at once",
        params: IdParams,
        response: { 200: UserOut.extend(Propagated) },
      },
    },
    async (request) =>
      revokedOut(
        userOut,
        await ctx.client.request(authAdminUsersDeactivate, {
          actor: actorOf(request),
          id: request.params.id,
        }),
      ),
  );

  app.post(
    "/api/v1/users/:id/reactivate",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Reactivate a user (admin); tokens revoked by deactivation stay revoked",
        params: IdParams,
        response: { 200: UserOut },
      },
    },
    async (request) =>
      userOut(
        await ctx.client.request(authAdminUsersReactivate, {
          actor: actorOf(request),
          id: request.params.id,
        }),
      ),
  );
}
