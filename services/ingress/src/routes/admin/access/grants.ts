import {
  aclAdminGrantsCreate,
  aclAdminGrantsDelete,
  aclAdminGrantsList,
  dispatchAdminAccountsGet,
} from "@gatehouse/contracts";
import type { IngressContext } from "../../../context.js";
import { Propagated, revokedOut } from "../propagation.js";
import type { ZodApp } from "./index.js";
import {
  accountParam,
  actorOf,
  CreateGrantBody,
  GrantOut,
  GrantParams,
  grantOut,
  listOf,
  NameParams,
  PageQuery,
  page,
  pageArgs,
} from "./views.js";

/** Grants on one provider account; admins and the account's managers may manage them (acl decides). */
export function grantRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["grants"];
  const base = "/api/v1/provider-accounts/:name/grants";

  app.get(
    base,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "List the grants on a provider account (admin or manager)",
        params: NameParams,
        querystring: PageQuery,
        response: { 200: listOf(GrantOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(aclAdminGrantsList, {
          actor: actorOf(request),
          account: accountParam(request.params.name),
          ...pageArgs(request.query),
        }),
        grantOut,
      ),
  );

  app.post(
    base,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Grant a user, team or virtual account a role on a provider account (admin or manager)",
        params: NameParams,
        body: CreateGrantBody,
        response: { 201: GrantOut },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      const account = accountParam(request.params.name);
      // Grants only on accounts that exist: dispatch owns them (and refuses callers with no role on it).
      await ctx.client.request(dispatchAdminAccountsGet, { actor, name: account });
      const grant = await ctx.client.request(aclAdminGrantsCreate, {
        actor,
        account,
        subject: request.body.subject,
        role: request.body.role,
      });
      return reply.code(201).send(grantOut(grant));
    },
  );

  app.delete(
    `${base}/:grantId`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Remove a grant (admin or manager): takes effect on every replica before this returns",
        params: GrantParams,
        response: { 200: GrantOut.extend(Propagated) },
      },
    },
    async (request) =>
      revokedOut(
        grantOut,
        await ctx.client.request(aclAdminGrantsDelete, {
          actor: actorOf(request),
          account: accountParam(request.params.name),
          grantId: request.params.grantId,
        }),
      ),
  );
}
