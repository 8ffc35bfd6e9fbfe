import {
  aclAdminRouteGrantsCreate,
  aclAdminRouteGrantsDelete,
  aclAdminRouteGrantsList,
  dispatchAdminRoutesCreate,
  dispatchAdminRoutesDelete,
  dispatchAdminRoutesGet,
  dispatchAdminRoutesList,
  dispatchAdminRoutesUpdate,
  FallbackOn,
  GatehouseError,
  isRouteName,
  MAX_ROUTE_TARGETS,
  ModelKind,
  type ModelRoute,
  type Propagation,
  RouteName,
  RouteStrategy,
  TargetModel,
} from "@gatehouse/contracts";
import { z } from "zod";
import { invalidateRoute } from "../../../access/authorize.js";
import { actorOf } from "../../../auth/caller.js";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, Id, snakeView, Time, type ZodApp } from "../http.js";
import { Propagated, revokedOut } from "../propagation.js";
import { CreateGrantBody, GrantOut, GrantParams, NameParams, PageQuery } from "./views.js";

/** A name that cannot be a route is simply not found; it never reaches a service. */
function routeParam(name: string): string {
  if (!isRouteName(name)) throw new GatehouseError("not_found", "route not found");
  return name;
}

const TargetIn = z
  .object({ model: TargetModel, weight: z.number().int().min(1).max(1_000).optional() })
  .strict();
const Settings = {
  strategy: RouteStrategy.optional().describe("priority (default), weighted or least-busy"),
  fallback_on: z
    .array(FallbackOn)
    .max(FallbackOn.options.length)
    .optional()
    .describe("failures that go on to the next target; default all but invalid_request"),
  first_byte_timeout_ms: z.number().int().min(100).max(600_000).optional(),
  cooldown_ms: z.number().int().min(1_000).max(3_600_000).optional(),
  failure_threshold: z.number().int().min(1).max(100).optional(),
};
const CreateRouteBody = z
  .object({
    name: RouteName.describe("what apps send as `model`: no slash"),
    kind: ModelKind,
    targets: z.array(TargetIn).min(1).max(MAX_ROUTE_TARGETS),
    ...Settings,
  })
  .strict();
const UpdateRouteBody = z
  .object({ targets: z.array(TargetIn).min(1).max(MAX_ROUTE_TARGETS).optional(), ...Settings })
  .strict();

const RouteOut = z.object({
  id: Id,
  name: z.string(),
  kind: ModelKind,
  strategy: RouteStrategy,
  targets: z.array(z.object({ model: z.string(), weight: z.number().int() })),
  fallback_on: z.array(FallbackOn),
  first_byte_timeout_ms: z.number().int(),
  cooldown_ms: z.number().int(),
  failure_threshold: z.number().int(),
  created_at: Time,
  updated_at: Time,
  created_by: Id.nullable(),
});
const routeOut = snakeView(RouteOut);
const Changed = RouteOut.extend(Propagated);

const RouteGrantOut = GrantOut.omit({ account: true }).extend({ route: z.string() });
const routeGrantOut = snakeView(RouteGrantOut);
const RemovedGrant = RouteGrantOut.extend(Propagated);

/** The body's settings in the bus contract's terms; absent fields stay absent. */
function settings(b: z.output<typeof UpdateRouteBody>) {
  return {
    ...(b.targets === undefined
      ? {}
      : { targets: b.targets.map((t) => ({ model: t.model, weight: t.weight ?? 1 })) }),
    ...(b.strategy === undefined ? {} : { strategy: b.strategy }),
    ...(b.fallback_on === undefined ? {} : { fallbackOn: b.fallback_on }),
    ...(b.first_byte_timeout_ms === undefined ? {} : { firstByteTimeoutMs: b.first_byte_timeout_ms }),
    ...(b.cooldown_ms === undefined ? {} : { cooldownMs: b.cooldown_ms }),
    ...(b.failure_threshold === undefined ? {} : { failureThreshold: b.failure_threshold }),
  };
}

/**
 * Routes (dispatch keeps them, with their targets) and the grants on them (acl). Writing a route
 * takes a tenant admin or a user who manages every account it sends calls to; granting on it, a
 * tenant admin or one of its managers.
 */
export function routeRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["routes"];
  const base = "/api/v1/routes";
  const named = ({ params }: { params: { name: string } }) => ({ name: routeParam(params.name) });
  const changed = (route: ModelRoute & { propagation?: Propagation }) => {
    invalidateRoute(ctx, route.name);
    return revokedOut(routeOut, route);
  };

  adminRoute(app, ctx, {
    method: "POST",
    url: base,
    tags,
    summary:
      "Create a route: a model name over several <account>/<model> targets (admin, or manager of every target account)",
    body: CreateRouteBody,
    response: RouteOut,
    status: 201,
    endpoint: dispatchAdminRoutesCreate,
    request: ({ body }) => ({
      ...settings(body),
      name: body.name,
      kind: body.kind,
      targets: body.targets.map((t) => ({ model: t.model, weight: t.weight ?? 1 })),
    }),
    view: (route) => {
      invalidateRoute(ctx, route.name);
      return routeOut(route);
    },
  });
  adminList(app, ctx, {
    url: base,
    tags,
    summary: "List routes (admins: all; others: those they hold a grant on)",
    querystring: PageQuery,
    item: RouteOut,
    endpoint: dispatchAdminRoutesList,
    view: routeOut,
  });
  adminRoute(app, ctx, {
    method: "GET",
    url: `${base}/:name`,
    tags,
    summary: "Get a route (admin, a manager of every target account, or a holder of a grant on it)",
    params: NameParams,
    response: RouteOut,
    endpoint: dispatchAdminRoutesGet,
    request: named,
    view: routeOut,
  });
  adminRoute(app, ctx, {
    method: "PATCH",
    url: `${base}/:name`,
    tags,
    summary:
      "Update a route's targets or settings (admin, or manager of every target account before and after)",
    params: NameParams,
    body: UpdateRouteBody,
    response: RouteOut,
    endpoint: dispatchAdminRoutesUpdate,
    request: (http) => ({ ...named(http), ...settings(http.body) }),
    view: (route) => {
      invalidateRoute(ctx, route.name);
      return routeOut(route);
    },
  });
  adminRoute(app, ctx, {
    method: "DELETE",
    url: `${base}/:name`,
    tags,
    summary: "Delete a route and every grant on it: calls to it stop on every replica before this returns",
    params: NameParams,
    response: Changed,
    endpoint: dispatchAdminRoutesDelete,
    request: named,
    view: changed,
  });

  const grants = `${base}/:name/grants`;
  adminList(app, ctx, {
    url: grants,
    tags,
    summary: "List the grants on a route (admin or manager of the route)",
    params: NameParams,
    querystring: PageQuery,
    item: RouteGrantOut,
    endpoint: aclAdminRouteGrantsList,
    request: ({ params }) => ({ route: routeParam(params.name) }),
    view: routeGrantOut,
  });
  adminRoute(app, ctx, {
    method: "POST",
    url: grants,
    tags,
    summary:
      "Grant a user, team or virtual account a role on a route (admin or manager of the route); it does not open the targets",
    params: NameParams,
    body: CreateGrantBody,
    response: RouteGrantOut,
    status: 201,
    endpoint: aclAdminRouteGrantsCreate,
    request: async ({ params, body }, request) => {
      const route = routeParam(params.name);
      // Grants only on routes that exist: dispatch owns them.
      // Its id goes with the grant: acl inserts it only while the name still stands for this route.
      const { id } = await ctx.client.request(dispatchAdminRoutesGet, {
        actor: actorOf(request),
        name: route,
      });
      return { route, resourceId: id, subject: body.subject, role: body.role };
    },
    view: routeGrantOut,
  });
  adminRoute(app, ctx, {
    method: "DELETE",
    url: `${grants}/:grantId`,
    tags,
    summary:
      "Remove a grant on a route (admin or manager): takes effect on every replica before this returns",
    params: GrantParams,
    response: RemovedGrant,
    endpoint: aclAdminRouteGrantsDelete,
    request: ({ params }) => ({ route: routeParam(params.name), grantId: params.grantId }),
    view: snakeView(RemovedGrant),
  });
}
