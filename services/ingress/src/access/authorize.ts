import {
  aclAccounts,
  aclCheck,
  type CheckPrincipal,
  GatehouseError,
  type ModelKind,
} from "@gatehouse/contracts";
import type { Caller } from "../auth/caller.js";
import type { IngressContext } from "../context.js";
import { CatalogCache } from "./catalog.js";
import { DecisionCache } from "./decisions.js";
import { modelId, parseModelRef } from "./model-ref.js";

/** Short backstops: events remove entries at once; the TTL only bounds what an event cannot reach. */
const CATALOG_TTL_MS = 5_000;
const CATALOG_MISS_REFRESH_MS = 500;
const DECISION_TTL_MS = 30_000;

interface AccessState {
  catalog: CatalogCache;
  decisions: DecisionCache;
}

// One cache pair per ingress context, created on first use so the module has no import-time state.
const states = new WeakMap<IngressContext, AccessState>();

function stateOf(ctx: IngressContext): AccessState {
  let state = states.get(ctx);
  if (!state) {
    state = {
      catalog: new CatalogCache(ctx.client, ctx.feed, {
        ttlMs: CATALOG_TTL_MS,
        missRefreshMs: CATALOG_MISS_REFRESH_MS,
      }),
      decisions: new DecisionCache(ctx.feed, DECISION_TTL_MS),
    };
    states.set(ctx, state);
  }
  return state;
}

/** After an admin change made through this replica, the next lookup sees it without waiting. */
export function invalidateCatalog(ctx: IngressContext): void {
  stateOf(ctx).catalog.drop();
}

export function checkPrincipalOf(caller: Caller): CheckPrincipal {
  const { id, kind, role } = caller.principal;
  return { id, kind, role };
}

export interface AuthorizedModel {
  /** The provider account to dispatch to. Nothing else in the request may change it. */
  account: string;
  /** The model name as the account knows it (may contain slashes). */
  model: string;
  kind: ModelKind;
}

function notFound(value: string): GatehouseError {
  const shown = value.length > 300 ? `${value.slice(0, 300)}…` : value;
  return new GatehouseError(
    "model_not_found",
    `The model '${shown}' does not exist or is not available on this gateway. Models are named '<provider-account>/<model>'.`,
  );
}

/**
 * Resolve the request's `model` field to a provider account and model, and decide whether the
 * caller may use it. The returned account is the only dispatch target: routes must not read an
 * account, provider, base URL or key from any header, query string or other body field.
 *
 * - not a string → 400; no slash, unknown account, model not listed → 404 `model_not_found`
 * - no grant → 403 `permission_denied` naming the account; disabled account → 403
 * - a cold check is one `acl.check` round trip (plus the catalog when it is not cached)
 */
export async function authorizeModel(
  ctx: IngressContext,
  caller: Caller,
  modelField: unknown,
): Promise<AuthorizedModel> {
  if (typeof modelField !== "string" || modelField.length === 0) {
    throw new GatehouseError("invalid_request", "'model' is required and must be a string");
  }
  const ref = parseModelRef(modelField);
  if (!ref) throw notFound(modelField);
  const { catalog, decisions } = stateOf(ctx);
  const found = await catalog.find(ref.account, ref.model);
  const listed = found.account?.models.find((m) => m.name === ref.model);
  if (!found.account || !listed) throw notFound(modelField);

  const principal = checkPrincipalOf(caller);
  if (!decisions.allowed(principal, ref.account)) {
    const epoch = ctx.feed.epoch();
    const decision = await ctx.client.request(aclCheck, {
      principal,
      account: ref.account,
      model: ref.model,
    });
    if (!decision.allowed) {
      throw new GatehouseError(
        "permission_denied",
        `You do not have access to provider account '${ref.account}'. Ask an admin or one of its managers for a grant.`,
      );
    }
    decisions.remember(principal, ref.account, epoch);
  }
  // Checked after the grant so a caller without access learns nothing about the account's state.
  if (!found.account.enabled) {
    throw new GatehouseError("permission_denied", `Provider account '${ref.account}' is disabled.`);
  }
  return { account: ref.account, model: ref.model, kind: listed.kind };
}

export interface CallableModel {
  id: string;
  account: string;
  model: string;
  kind: ModelKind;
  created: number;
}

/** Exactly the `account/model` ids the caller may call right now (enabled accounts only). */
export async function callableModels(ctx: IngressContext, caller: Caller): Promise<CallableModel[]> {
  const { catalog } = stateOf(ctx);
  const [held, accounts] = await Promise.all([
    ctx.client.request(aclAccounts, { principal: checkPrincipalOf(caller) }),
    catalog.all(),
  ]);
  const granted = new Set(held.accounts.map((a) => a.account));
  const out: CallableModel[] = [];
  for (const account of accounts) {
    if (!account.enabled || !(held.all || granted.has(account.name))) continue;
    const created = Math.floor(Date.parse(account.createdAt) / 1000);
    for (const m of account.models) {
      out.push({
        id: modelId(account.name, m.name),
        account: account.name,
        model: m.name,
        kind: m.kind,
        created,
      });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
