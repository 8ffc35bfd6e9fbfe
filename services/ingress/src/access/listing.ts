import {
  aclAccounts,
  aclCheck,
  type CatalogAccount,
  type CatalogListRequest,
  type CatalogRoutesRequest,
  dispatchCatalogList,
  dispatchCatalogRoutes,
  type ModelKind,
} from "@gatehouse/contracts";
import type { Caller } from "../auth/caller.js";
import type { IngressContext } from "../context.js";
import { catalogTimeoutMs, checkPrincipalOf } from "./authorize.js";
import { type ModelRef, modelId } from "./model-ref.js";

export interface CallableModel {
  id: string;
  account: string;
  model: string;
  kind: ModelKind;
  created: number;
}

/**
 * The models the caller may call right now (granted, or every account for tenant admins; enabled
 * accounts only), ordered by account name, then model name, starting after `after`. Yields one
 * batch per internal page (a page of acl's grants, a page of dispatch's catalog, each bounded), so
 * nothing holds the whole list: the consumer stops pulling when it has enough.
 */
export async function* callableModels(
  ctx: IngressContext,
  caller: Caller,
  from?: ModelRef | { route: string },
): AsyncGenerator<CallableModel[]> {
  const principal = checkPrincipalOf(caller);
  // Routes (names without a slash) come first, then the accounts' models.
  if (from === undefined || "route" in from) yield* callableRoutes(ctx, principal, from?.route);
  const after = from !== undefined && "account" in from ? from : undefined;
  if (after) {
    // The rest of the account the cursor points into, then the accounts after it.
    const [account] = (await catalogPage(ctx, { names: [after.account], enabledOnly: true })).accounts;
    if (account && (await ctx.client.request(aclCheck, { principal, account: account.name })).allowed) {
      yield modelsOf(account, after.model);
    }
  }
  let held = await ctx.client.request(aclAccounts, {
    principal,
    ...(after ? { after: after.account } : {}),
  });
  if (held.all) {
    yield* catalogModels(ctx, { enabledOnly: true, ...(after ? { after: after.account } : {}) });
    return;
  }
  for (;;) {
    if (held.accounts.length > 0) {
      yield* catalogModels(ctx, { names: held.accounts.map((a) => a.account), enabledOnly: true });
    }
    if (held.next === null) return;
    held = await ctx.client.request(aclAccounts, { principal, after: held.next });
  }
}

function catalogPage(ctx: IngressContext, request: CatalogListRequest) {
  return ctx.client.request(dispatchCatalogList, request, { timeoutMs: catalogTimeoutMs(ctx) });
}

async function* catalogModels(
  ctx: IngressContext,
  request: CatalogListRequest,
): AsyncGenerator<CallableModel[]> {
  let page = await catalogPage(ctx, request);
  for (;;) {
    for (const account of page.accounts) yield modelsOf(account);
    if (page.next === null) return;
    page = await catalogPage(ctx, { ...request, after: page.next });
  }
}

/** An account's models in name order (after `afterModel`, when given). */
function modelsOf(account: CatalogAccount, afterModel?: string): CallableModel[] {
  const created = Math.floor(Date.parse(account.createdAt) / 1000);
  return account.models
    .filter((m) => afterModel === undefined || m.name > afterModel)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((m) => ({
      id: modelId(account.name, m.name),
      account: account.name,
      model: m.name,
      kind: m.kind,
      created,
    }));
}

/** The routes the caller may call (granted, or all for tenant admins), in name order after `after`. */
async function* callableRoutes(
  ctx: IngressContext,
  principal: ReturnType<typeof checkPrincipalOf>,
  after: string | undefined,
): AsyncGenerator<CallableModel[]> {
  let held = await ctx.client.request(aclAccounts, {
    principal,
    resource: "route",
    ...(after === undefined ? {} : { after }),
  });
  if (held.all) {
    yield* catalogRoutes(ctx, after === undefined ? {} : { after });
    return;
  }
  for (;;) {
    if (held.accounts.length > 0) yield* catalogRoutes(ctx, { names: held.accounts.map((a) => a.account) });
    if (held.next === null) return;
    held = await ctx.client.request(aclAccounts, { principal, resource: "route", after: held.next });
  }
}

async function* catalogRoutes(
  ctx: IngressContext,
  request: CatalogRoutesRequest,
): AsyncGenerator<CallableModel[]> {
  const wait = { timeoutMs: catalogTimeoutMs(ctx) };
  let page = await ctx.client.request(dispatchCatalogRoutes, request, wait);
  for (;;) {
    yield page.routes.map((r) => ({
      id: r.name,
      account: "route",
      model: r.name,
      kind: r.kind,
      created: Math.floor(Date.parse(r.createdAt) / 1000),
    }));
    if (page.next === null) return;
    page = await ctx.client.request(dispatchCatalogRoutes, { ...request, after: page.next }, wait);
  }
}
