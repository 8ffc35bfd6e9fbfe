import type { Propagation, ProviderAccount } from "@gatehouse/contracts";
import * as bus from "@gatehouse/contracts";
import type { z } from "zod";
import { invalidateCatalog } from "../../../access/authorize.js";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, type ZodApp } from "../http.js";
import { Propagated, revokedOut } from "../propagation.js";
import {
  AccountOut,
  accountOut,
  accountParam,
  CreateAccountBody,
  camelKeys,
  modelIn,
  NameParams,
  PageQuery,
  UpdateAccountBody,
} from "./views.js";

const Changed = AccountOut.extend(Propagated);

/** The fields a create or an update sets, in the bus contract's terms; absent fields stay absent. */
function accountFields(b: z.output<typeof UpdateAccountBody>) {
  return {
    ...(b.type === undefined ? {} : { type: b.type }),
    ...(b.base_url === undefined ? {} : { baseUrl: b.base_url }),
    ...(b.credentials === undefined ? {} : { credentials: camelKeys(b.credentials) }),
    ...(b.options === undefined ? {} : { options: camelKeys(b.options) }),
    ...(b.models === undefined ? {} : { models: b.models.map(modelIn) }),
    ...(b.enabled === undefined ? {} : { enabled: b.enabled }),
  };
}

export function accountRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["provider accounts"];
  const base = "/api/v1/provider-accounts";
  const named = ({ params }: { params: { name: string } }) => ({ name: accountParam(params.name) });
  // A change to an account reaches this replica's catalog at once (the others by its access event).
  const changed = (account: ProviderAccount & { propagation?: Propagation }) => {
    invalidateCatalog(ctx, account.name);
    return revokedOut(accountOut, account);
  };

  adminRoute(app, ctx, {
    method: "POST",
    url: base,
    tags,
    summary: "Create a provider account (admin)",
    body: CreateAccountBody,
    response: AccountOut,
    status: 201,
    endpoint: bus.dispatchAdminAccountsCreate,
    // A create's base_url is never null (the body schema says so), only an update's may clear it.
    request: ({ body }) => ({
      ...(accountFields(body) as { baseUrl?: string }),
      name: body.name,
      type: body.type,
    }),
    view: (account) => {
      invalidateCatalog(ctx, account.name);
      return accountOut(account);
    },
  });
  adminList(app, ctx, {
    url: base,
    tags,
    summary: "List provider accounts (admins: all; others: those they hold a grant on)",
    querystring: PageQuery,
    item: AccountOut,
    endpoint: bus.dispatchAdminAccountsList,
    view: accountOut,
  });
  adminRoute(app, ctx, {
    method: "GET",
    url: `${base}/:name`,
    tags,
    summary: "Get a provider account",
    params: NameParams,
    response: AccountOut,
    endpoint: bus.dispatchAdminAccountsGet,
    request: named,
    view: accountOut,
  });
  adminRoute(app, ctx, {
    method: "PATCH",
    url: `${base}/:name`,
    tags,
    summary:
      "Update a provider account: models and enabled (admin or manager); type, base_url, credentials and options (admin). Credentials and models are replaced whole",
    params: NameParams,
    body: UpdateAccountBody,
    response: Changed,
    endpoint: bus.dispatchAdminAccountsUpdate,
    request: (http) => ({ ...named(http), ...accountFields(http.body) }),
    view: changed,
  });
  adminRoute(app, ctx, {
    method: "DELETE",
    url: `${base}/:name`,
    tags,
    summary: "Delete a provider account and every grant on it (admin)",
    params: NameParams,
    response: Changed,
    endpoint: bus.dispatchAdminAccountsDelete,
    request: named,
    view: changed,
  });
  for (const [action, endpoint, summary] of [
    [
      "disable",
      bus.dispatchAdminAccountsDisable,
      "Disable a provider account (admin or manager): calls stop at once",
    ],
    ["enable", bus.dispatchAdminAccountsEnable, "Enable a provider account (admin or manager)"],
  ] as const) {
    adminRoute(app, ctx, {
      method: "POST",
      url: `${base}/:name/${action}`,
      tags,
      summary,
      params: NameParams,
      response: Changed,
      endpoint,
      request: named,
      view: changed,
    });
  }
}
