import {
  aclCheck,
  CATALOG_REQUEST_TIMEOUT_MS,
  type CheckPrincipal,
  GatehouseError,
  isRouteName,
  type ModelKind,
} from "@gatehouse/contracts";
import type { Caller } from "../auth/caller.js";
import type { IngressContext } from "../context.js";
import { CatalogCache, type CatalogEntry, type ModelPrice } from "./catalog.js";
import { DecisionCache } from "./decisions.js";
import { parseModelRef } from "./model-ref.js";
import { RouteCatalog, type RouteEntry } from "./route-catalog.js";

/** Short backstops: events remove entries at once; the TTL only bounds what an event cannot reach. */
const CATALOG_TTL_MS = 5_000;
/** An account past its TTL still answers calls this long while it is fetched again (see CatalogOptions). */
const CATALOG_STALE_MS = 30_000;
const CATALOG_MISS_REFRESH_MS = 500;
const DECISION_TTL_MS = 30_000;

interface AccessState {
  catalog: CatalogCache;
  routes: RouteCatalog;
  decisions: DecisionCache;
  /** `acl.check`s on their way, shared by calls asking the same while no event was applied. */
  checks: Map<string, { epoch: number; allowed: Promise<Allowed> }>;
}

// One cache pair per ingress context, created on first use so the module has no import-time state.
const states = new WeakMap<IngressContext, AccessState>();

/**
 * How long ingress waits for a `dispatch.catalog.*` answer: past dispatch's 5 s bound on its read
 * (then it answers 503 + Retry-After), and never less than the bus timeout the operator set.
 */
export function catalogTimeoutMs(ctx: IngressContext): number {
  return Math.max(ctx.config.busTimeoutMs ?? 0, CATALOG_REQUEST_TIMEOUT_MS);
}

function stateOf(ctx: IngressContext): AccessState {
  let state = states.get(ctx);
  if (!state) {
    const timeoutMs = catalogTimeoutMs(ctx);
    state = {
      catalog: new CatalogCache(ctx.client, ctx.feed, {
        ttlMs: CATALOG_TTL_MS,
        staleMs: CATALOG_STALE_MS,
        missRefreshMs: CATALOG_MISS_REFRESH_MS,
        maxModels: ctx.config.catalogCacheMaxModels,
        timeoutMs,
      }),
      routes: new RouteCatalog(ctx.client, ctx.feed, {
        ttlMs: CATALOG_TTL_MS,
        staleMs: CATALOG_STALE_MS,
        missMs: CATALOG_MISS_REFRESH_MS,
        timeoutMs,
      }),
      decisions: new DecisionCache(ctx.feed, DECISION_TTL_MS),
      checks: new Map(),
    };
    states.set(ctx, state);
  }
  return state;
}

/** After an admin change to `account` made through this replica, the next lookup sees it at once. */
export function invalidateCatalog(ctx: IngressContext, account: string): void {
  stateOf(ctx).catalog.drop(account);
}

/** After an admin change to route `name` made through this replica, the next lookup sees it at once. */
export function invalidateRoute(ctx: IngressContext, name: string): void {
  stateOf(ctx).routes.drop(name);
}

/** The route's catalog entry (cached), or `undefined` when there is no such route. */
export function findRoute(ctx: IngressContext, name: string): Promise<RouteEntry | undefined> {
  return stateOf(ctx).routes.find(name);
}

/** Allows held by this replica's decision cache (tests: what a run of calls left in it). */
export function cachedDecisions(ctx: IngressContext): number {
  return stateOf(ctx).decisions.size;
}

/** The account's catalog entry (cached), or `undefined` when there is no such account. */
export function findAccount(ctx: IngressContext, account: string): Promise<CatalogEntry | undefined> {
  return stateOf(ctx).catalog.find(account);
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
  route?: undefined;
  kind: ModelKind;
  /** The model's prices, when it has them (a budget pre-charges from them). */
  price?: ModelPrice | undefined;
  /** The teams whose grant allowed the call (their rate limits count it); undefined for a direct grant. */
  teams: readonly string[] | undefined;
}

/** An access check's answer as a call needs it, and the feed's epoch when it was asked. */
interface Allowed {
  allowed: boolean;
  teams: readonly string[] | undefined;
  epoch: number;
}

/** A route the caller may call: dispatch picks the target from the route's own definition. */
export interface AuthorizedRoute {
  route: string;
  account?: undefined;
  model?: undefined;
  kind: ModelKind;
  /** The teams whose grant on the route allowed the call (their unscoped rate limits count it). */
  teams: readonly string[] | undefined;
}

/** The decision cache's key for a route: `/` never occurs in an account name, so no account collides. */
export function routeResource(name: string): string {
  return `route/${name}`;
}

/**
 * The request's `model`: `<account>/<model>` (see `authorizeModel`), or a name without a slash,
 * which is a route. A route is called with a grant on the route — a grant on one of its accounts
 * does not open it, and a grant on it does not open its accounts.
 */
export async function authorizeTarget(
  ctx: IngressContext,
  caller: Caller,
  modelField: unknown,
): Promise<AuthorizedModel | AuthorizedRoute> {
  if (typeof modelField === "string" && modelField.length > 0 && !modelField.includes("/")) {
    return authorizeRoute(ctx, caller, modelField);
  }
  return authorizeModel(ctx, caller, modelField);
}

async function authorizeRoute(ctx: IngressContext, caller: Caller, name: string): Promise<AuthorizedRoute> {
  if (!isRouteName(name)) throw notFound(name);
  const state = stateOf(ctx);
  // Looked up first: a name known not to exist is refused without an acl.check (made-up names
  // would otherwise cost acl a query per call); a cold name is asked of dispatch and acl together.
  const looked = state.routes.lookup(name);
  if (looked === undefined) throw notFound(name);
  const principal = checkPrincipalOf(caller);
  const resource = routeResource(name);
  const cached = state.decisions.get(principal, resource);
  ctx.metrics.cacheLookup("decision", cached !== undefined);
  const grant = cached ? undefined : checkGrant(ctx, state, principal, resource, { route: name });
  grant?.catch(() => {});
  const found = looked instanceof Promise ? await looked : looked;
  if (!found) throw notFound(name);
  const decision = grant === undefined ? undefined : await grant;
  if (decision !== undefined && !decision.allowed) {
    throw new GatehouseError(
      "permission_denied",
      `You do not have access to route '${name}'. Ask an admin or one of its managers for a grant.`,
    );
  }
  if (decision !== undefined) state.decisions.remember(principal, resource, decision.epoch, decision.teams);
  return { route: name, kind: found.kind, teams: decision ? decision.teams : cached?.teams };
}

function notFound(value: string): GatehouseError {
  const shown = value.length > 300 ? `${value.slice(0, 300)}…` : value;
  return new GatehouseError(
    "model_not_found",
    `The model '${shown}' does not exist or is not available on this gateway. Models are named '<provider-account>/<model>', or by a route's name.`,
  );
}

/**
 * Resolve the request's `model` field to a provider account and model, and decide whether the
 * caller may use it. The returned account is the only dispatch target: routes must not read an
 * account, provider, base URL or key from any header, query string or other body field.
 *
 * - not a string → 400; no slash, unknown account, model not listed → 404 `model_not_found`
 * - no grant → 403 `permission_denied` naming the account; disabled account → 403
 * - a cold check is one round trip: `acl.check` and, when the account is not cached,
 *   `dispatch.catalog.account`, sent together
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
  const state = stateOf(ctx);
  const { catalog, decisions } = state;
  // As for routes: a name known not to exist costs acl no query (refusals are never cached).
  if (catalog.knownMissing(ref.account)) throw notFound(modelField);
  const principal = checkPrincipalOf(caller);
  // A cold account asks dispatch and acl at once: one round trip, not two. The answers are read in
  // the order the checks are documented in, so the outcome is the same as asking one after the other.
  const cached = decisions.get(principal, ref.account);
  ctx.metrics.cacheLookup("decision", cached !== undefined);
  const grant = cached
    ? undefined
    : checkGrant(ctx, state, principal, ref.account, { account: ref.account, model: ref.model });
  grant?.catch(() => {}); // awaited below; not unhandled if the catalog lookup throws first
  const found = await catalog.find(ref.account, ref.model);
  const kind = found?.models.get(ref.model);
  if (!found || kind === undefined) throw notFound(modelField);
  const decision = grant === undefined ? undefined : await grant;
  if (decision !== undefined && !decision.allowed) {
    throw new GatehouseError(
      "permission_denied",
      `You do not have access to provider account '${ref.account}'. Ask an admin or one of its managers for a grant.`,
    );
  }
  // Kept only now that the catalog found the account: acl allows a tenant admin every name, and
  // allows on made-up names would fill the cache and empty it of real ones.
  if (decision !== undefined) decisions.remember(principal, ref.account, decision.epoch, decision.teams);
  // Checked after the grant so a caller without access learns nothing about the account's state.
  if (!found.enabled) {
    throw new GatehouseError("permission_denied", `Provider account '${ref.account}' is disabled.`);
  }
  return {
    account: ref.account,
    model: ref.model,
    kind,
    price: found.prices.get(ref.model),
    teams: decision ? decision.teams : cached?.teams,
  };
}

/**
 * One `acl.check`, shared with calls that ask the same (principal, account, model) while it is on its
 * way and no event has been applied since it left, with a trusted feed: when a busy decision expired
 * under a burst, a thousand identical checks made many of them time out (504). A call that comes
 * after an event, or while the feed is untrusted, asks on its own.
 */
function checkGrant(
  ctx: IngressContext,
  state: AccessState,
  principal: CheckPrincipal,
  resource: string,
  on: { account: string; model: string } | { route: string },
): Promise<Allowed> {
  const epoch = ctx.feed.epoch();
  const key = [principal.id, principal.kind, principal.role, resource, "model" in on ? on.model : ""].join(
    "\u0000",
  );
  const trusted = ctx.feed.trusted();
  const shared = trusted ? state.checks.get(key) : undefined;
  if (shared && shared.epoch === epoch) return shared.allowed;
  // The allow is stored by the caller, once the catalog found the resource (see authorizeModel).
  const allowed = (async () => {
    const decision = await ctx.client.request(aclCheck, { principal, ...on });
    return { allowed: decision.allowed, teams: decision.teamIds, epoch };
  })();
  if (trusted) {
    state.checks.set(key, { epoch, allowed });
    void allowed
      .finally(() => {
        if (state.checks.get(key)?.allowed === allowed) state.checks.delete(key);
      })
      .catch(() => {});
  }
  return allowed;
}
