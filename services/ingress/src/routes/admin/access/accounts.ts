import {
  dispatchAdminAccountsCreate,
  dispatchAdminAccountsDelete,
  dispatchAdminAccountsDisable,
  dispatchAdminAccountsEnable,
  dispatchAdminAccountsGet,
  dispatchAdminAccountsList,
  dispatchAdminAccountsUpdate,
} from "@gatehouse/contracts";
import { invalidateCatalog } from "../../../access/authorize.js";
import type { IngressContext } from "../../../context.js";
import { Propagated, propagationOut, revokedOut } from "../propagation.js";
import type { ZodApp } from "./index.js";
import {
  AccountOut,
  accountOut,
  accountParam,
  actorOf,
  CreateAccountBody,
  camelKeys,
  listOf,
  modelIn,
  NameParams,
  PageQuery,
  page,
  pageArgs,
  UpdateAccountBody,
} from "./views.js";

export function accountRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["provider accounts"];
  const base = "/api/v1/provider-accounts";

  app.post(
    base,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Create a provider account (admin)",
        body: CreateAccountBody,
        response: { 201: AccountOut },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const account = await ctx.client.request(dispatchAdminAccountsCreate, {
        actor: actorOf(request),
        name: b.name,
        type: b.type,
        ...(b.base_url === undefined ? {} : { baseUrl: b.base_url }),
        ...(b.credentials === undefined ? {} : { credentials: camelKeys(b.credentials) }),
        ...(b.options === undefined ? {} : { options: camelKeys(b.options) }),
        ...(b.models === undefined ? {} : { models: b.models.map(modelIn) }),
        ...(b.enabled === undefined ? {} : { enabled: b.enabled }),
      });
      invalidateCatalog(ctx, account.name);
      return reply.code(201).send(accountOut(account));
    },
  );

  app.get(
    base,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "List provider accounts (admins: all; others: those they hold a grant on)",
        querystring: PageQuery,
        response: { 200: listOf(AccountOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(dispatchAdminAccountsList, {
          actor: actorOf(request),
          ...pageArgs(request.query),
        }),
        accountOut,
      ),
  );

  app.get(
    `${base}/:name`,
    {
      onRequest: ctx.authenticate,
      schema: { tags, summary: "Get a provider account", params: NameParams, response: { 200: AccountOut } },
    },
    async (request) =>
      accountOut(
        await ctx.client.request(dispatchAdminAccountsGet, {
          actor: actorOf(request),
          name: accountParam(request.params.name),
        }),
      ),
  );

  app.patch(
    `${base}/:name`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary:
          "Update a provider account: models and enabled (admin or manager); type, base_url, credentials and options (admin). Credentials and models are replaced whole",
        params: NameParams,
        body: UpdateAccountBody,
        response: { 200: AccountOut.extend(Propagated) },
      },
    },
    async (request) => {
      const b = request.body;
      const account = await ctx.client.request(dispatchAdminAccountsUpdate, {
        actor: actorOf(request),
        name: accountParam(request.params.name),
        ...(b.type === undefined ? {} : { type: b.type }),
        ...(b.base_url === undefined ? {} : { baseUrl: b.base_url }),
        ...(b.credentials === undefined ? {} : { credentials: camelKeys(b.credentials) }),
        ...(b.options === undefined ? {} : { options: camelKeys(b.options) }),
        ...(b.models === undefined ? {} : { models: b.models.map(modelIn) }),
        ...(b.enabled === undefined ? {} : { enabled: b.enabled }),
      });
      invalidateCatalog(ctx, account.name);
      return revokedOut(accountOut, account);
    },
  );

  app.delete(
    `${base}/:name`,
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Delete a provider account and every grant on it (admin)",
        params: NameParams,
        response: { 200: AccountOut.extend(Propagated) },
      },
    },
    async (request) => {
      const account = await ctx.client.request(dispatchAdminAccountsDelete, {
        actor: actorOf(request),
        name: accountParam(request.params.name),
      });
      invalidateCatalog(ctx, account.name);
      return revokedOut(accountOut, account);
    },
  );

  for (const [action, endpoint, summary] of [
    [
      "disable",
      dispatchAdminAccountsDisable,
      "Disable a provider account (admin or manager): calls stop at once",
    ],
    ["enable", dispatchAdminAccountsEnable, "Enable a provider account (admin or manager)"],
  ] as const) {
    app.post(
      `${base}/:name/${action}`,
      {
        onRequest: ctx.authenticate,
        schema: { tags, summary, params: NameParams, response: { 200: AccountOut.extend(Propagated) } },
      },
      async (request) => {
        const account = await ctx.client.request(endpoint, {
          actor: actorOf(request),
          name: accountParam(request.params.name),
        });
        invalidateCatalog(ctx, account.name);
        const propagation = "propagation" in account ? account.propagation : undefined;
        return { ...accountOut(account), ...propagationOut(propagation) };
      },
    );
  }
}
