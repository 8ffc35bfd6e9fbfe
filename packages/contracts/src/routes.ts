import { z } from "zod";
import { Actor, IsoDateTime, ListRequest, pageOf, Uuid } from "./common.js";
import { ACCOUNT_NAME_PATTERN, MODEL_ID_MAX, ModelKind } from "./dispatch.js";
import { Propagated } from "./events.js";
import { defineEndpoint } from "./subjects.js";

/**
 * A route name: what an app sends as `model` (`gpt-4o`, `smart`, `claude-3-5-sonnet-latest`). No
 * slash, so it can never be read as `<account>/<model>`; ASCII letters, digits and inner `.`, `_`,
 * `-`, 1–128 characters, starting and ending with a letter or digit (no `.`/`..` in admin URLs, no
 * `:` so it can sit in a cache key, no look-alikes). Names are unique regardless of case.
 */
export const ROUTE_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/;
export const RouteName = z
  .string()
  .regex(ROUTE_NAME_PATTERN, "must be 1-128 letters, digits or inner '.', '_', '-' (no slash)");
export type RouteName = z.infer<typeof RouteName>;

export function isRouteName(value: string): boolean {
  return ROUTE_NAME_PATTERN.test(value);
}

/** `priority`: first healthy target in order; `weighted`: random by weight; `least-busy`: fewest calls in flight. */
export const RouteStrategy = z.enum(["priority", "weighted", "least-busy"]);
export type RouteStrategy = z.infer<typeof RouteStrategy>;

/**
 * What makes a call go on to the next target (only ever before the first byte reached the caller):
 * `connect` (the provider could not be reached), `timeout` (no first byte within the route's
 * `firstByteTimeoutMs`), `rate_limit` (429), `server_error` (5xx), `auth` (the provider refused the
 * account's credentials), `invalid_request` (a 4xx such as a context-length error; off by default,
 * since another target usually refuses the same request).
 */
export const FallbackOn = z.enum([
  "connect",
  "timeout",
  "rate_limit",
  "server_error",
  "auth",
  "invalid_request",
]);
export type FallbackOn = z.infer<typeof FallbackOn>;
export const DEFAULT_FALLBACK_ON: FallbackOn[] = ["connect", "timeout", "rate_limit", "server_error", "auth"];

export const MAX_ROUTE_TARGETS = 16;
/** `<account>/<model>`: the account part is a provider account name, the model part any model name. */
export const TargetModel = z
  .string()
  .max(MODEL_ID_MAX)
  .refine((v) => {
    const slash = v.indexOf("/");
    return slash > 0 && slash < v.length - 1 && ACCOUNT_NAME_PATTERN.test(v.slice(0, slash));
  }, "must be '<provider-account>/<model>'");

export const RouteTarget = z.object({
  model: TargetModel,
  /** Relative share of calls under `weighted` (ignored by the other strategies). */
  weight: z.number().int().min(1).max(1_000).default(1),
});
export type RouteTarget = z.infer<typeof RouteTarget>;

const Targets = z
  .array(RouteTarget)
  .min(1)
  .max(MAX_ROUTE_TARGETS)
  .refine((targets) => new Set(targets.map((t) => t.model)).size === targets.length, {
    message: "a target may appear once in a route",
  });

/** Bounds: a first-byte wait of 0.1–600 s, a breaker cooldown of 1 s – 1 h, 1–100 failures to open it. */
const FirstByteTimeoutMs = z.number().int().min(100).max(600_000);
const CooldownMs = z.number().int().min(1_000).max(3_600_000);
const FailureThreshold = z.number().int().min(1).max(100);
const FallbackList = z.array(FallbackOn).max(FallbackOn.options.length);

export const ModelRoute = z.object({
  id: Uuid,
  name: RouteName,
  kind: ModelKind,
  strategy: RouteStrategy,
  targets: z.array(z.object({ model: z.string(), weight: z.number().int() })),
  fallbackOn: z.array(FallbackOn),
  firstByteTimeoutMs: z.number().int(),
  cooldownMs: z.number().int(),
  failureThreshold: z.number().int(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  createdBy: Uuid.nullable(),
});
export type ModelRoute = z.infer<typeof ModelRoute>;

export const CreateRouteRequest = z.object({
  actor: Actor,
  name: RouteName,
  kind: ModelKind,
  strategy: RouteStrategy.default("priority"),
  targets: Targets,
  fallbackOn: FallbackList.default(DEFAULT_FALLBACK_ON),
  firstByteTimeoutMs: FirstByteTimeoutMs.default(60_000),
  cooldownMs: CooldownMs.default(30_000),
  failureThreshold: FailureThreshold.default(3),
});
export type CreateRouteRequest = z.input<typeof CreateRouteRequest>;

/** Absent fields stay as they are; `targets` replaces the whole list. A route's kind never changes. */
export const UpdateRouteRequest = z.object({
  actor: Actor,
  name: RouteName,
  strategy: RouteStrategy.optional(),
  targets: Targets.optional(),
  fallbackOn: FallbackList.optional(),
  firstByteTimeoutMs: FirstByteTimeoutMs.optional(),
  cooldownMs: CooldownMs.optional(),
  failureThreshold: FailureThreshold.optional(),
});
export type UpdateRouteRequest = z.input<typeof UpdateRouteRequest>;

export const RouteNameRequest = z.object({ actor: Actor, name: RouteName });

/** What ingress needs to resolve a route name: that it exists and its kind (never its targets). */
export const CatalogRoute = z.object({ name: RouteName, kind: ModelKind, createdAt: IsoDateTime });
export type CatalogRoute = z.infer<typeof CatalogRoute>;
export const ROUTE_CATALOG_PAGE_MAX = 1_000;
/** Routes in name order after `after`: all, or only `names`. */
export const CatalogRoutesRequest = z.object({
  after: RouteName.optional(),
  names: z.array(RouteName).max(ROUTE_CATALOG_PAGE_MAX).optional(),
});
export type CatalogRoutesRequest = z.input<typeof CatalogRoutesRequest>;
export const CatalogRoutesResponse = z.object({ routes: z.array(CatalogRoute), next: RouteName.nullable() });
export type CatalogRoutesResponse = z.infer<typeof CatalogRoutesResponse>;

export const dispatchCatalogRoutes = defineEndpoint(
  "dispatch",
  "catalog.routes",
  CatalogRoutesRequest,
  CatalogRoutesResponse,
);
export const dispatchAdminRoutesCreate = defineEndpoint(
  "dispatch",
  "admin.routes.create",
  CreateRouteRequest,
  ModelRoute,
);
export const dispatchAdminRoutesList = defineEndpoint(
  "dispatch",
  "admin.routes.list",
  ListRequest,
  pageOf(ModelRoute),
);
export const dispatchAdminRoutesGet = defineEndpoint(
  "dispatch",
  "admin.routes.get",
  RouteNameRequest,
  ModelRoute,
);
export const dispatchAdminRoutesUpdate = defineEndpoint(
  "dispatch",
  "admin.routes.update",
  UpdateRouteRequest,
  ModelRoute,
);
export const dispatchAdminRoutesDelete = defineEndpoint(
  "dispatch",
  "admin.routes.delete",
  RouteNameRequest,
  ModelRoute.extend(Propagated),
);
