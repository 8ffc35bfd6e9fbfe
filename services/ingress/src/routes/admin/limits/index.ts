import * as bus from "@gatehouse/contracts";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, Id, IdParams, PageQuery, Time, typed } from "../http.js";
import { Propagated, propagationOut } from "../propagation.js";

const PerMinute = z.number().int().min(1).max(bus.LIMIT_MAX_PER_MINUTE);
const Subject = z.union([
  z.object({ kind: bus.LimitSubjectKind, id: Id }).strict(),
  z
    .object({
      kind: bus.LimitSubjectKind,
      default: z
        .literal(true)
        .describe("The default for every subject of the kind without a limit of its own for the scope"),
    })
    .strict(),
]);
const Scope = z
  .object({ provider_account: bus.AccountName.optional(), model: bus.ModelName.optional() })
  .strict();

export const CreateRateLimitBody = z
  .object({
    subject: Subject,
    scope: Scope.optional(),
    requests_per_minute: PerMinute.optional(),
    tokens_per_minute: PerMinute.optional(),
    fail_open: z
      .boolean()
      .optional()
      .describe("Admit calls while acl cannot be reached (the limit's bound does not hold meanwhile)"),
  })
  .strict()
  .refine((b) => b.requests_per_minute !== undefined || b.tokens_per_minute !== undefined, {
    message: "set requests_per_minute, tokens_per_minute or both",
  })
  .refine((b) => b.scope?.model === undefined || b.scope.provider_account !== undefined, {
    message: "a model scope needs its provider_account (models are named per account)",
  });

export const RateLimitOut = z.object({
  id: Id,
  subject: z.object({
    kind: bus.LimitSubjectKind,
    /** Null for a default. */
    id: Id.nullable(),
    default: z.boolean(),
  }),
  scope: z.object({ provider_account: z.string().nullable(), model: z.string().nullable() }),
  requests_per_minute: z.number().int().nullable(),
  tokens_per_minute: z.number().int().nullable(),
  fail_open: z.boolean(),
  created_at: Time,
  created_by: Id.nullable(),
});
const RateLimitChanged = RateLimitOut.extend(Propagated);
const MyLimitsOut = z.object({ rate_limits: z.array(RateLimitOut) });

export function rateLimitOut(r: bus.RateLimit): z.infer<typeof RateLimitOut> {
  return {
    id: r.id,
    subject: { kind: r.subject.kind, id: r.subject.id, default: r.subject.id === null },
    scope: { provider_account: r.account, model: r.model },
    requests_per_minute: r.requestsPerMinute,
    tokens_per_minute: r.tokensPerMinute,
    fail_open: r.failOpen,
    created_at: r.createdAt,
    created_by: r.createdBy,
  };
}

function rateLimitChanged(r: bus.RateLimit & { propagation?: bus.Propagation }) {
  return { ...rateLimitOut(r), ...propagationOut(r.propagation) };
}

/**
 * Rate limits (docs/governance.md): tenant admins create, list, read and delete them (acl decides
 * and audits); a create or delete returns once every ingress replica applied it. Any caller reads
 * the limits that apply to it at `/api/v1/me/limits`.
 */
export const limitRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (app, { ctx }) => {
  const z = typed(app);
  const tags = ["rate limits"];
  const limit = ({ params }: { params: { id: string } }) => ({ limitId: params.id });
  adminRoute(z, ctx, {
    method: "POST",
    url: "/api/v1/rate-limits",
    tags,
    summary: "Create a rate limit (admin): enforced by every replica before this returns",
    body: CreateRateLimitBody,
    response: RateLimitChanged,
    status: 201,
    endpoint: bus.aclAdminRateLimitsCreate,
    request: ({ body }) => ({
      subject: { kind: body.subject.kind, id: "id" in body.subject ? body.subject.id : null },
      ...(body.scope?.provider_account === undefined ? {} : { account: body.scope.provider_account }),
      ...(body.scope?.model === undefined ? {} : { model: body.scope.model }),
      ...(body.requests_per_minute === undefined ? {} : { requestsPerMinute: body.requests_per_minute }),
      ...(body.tokens_per_minute === undefined ? {} : { tokensPerMinute: body.tokens_per_minute }),
      ...(body.fail_open === undefined ? {} : { failOpen: body.fail_open }),
    }),
    view: rateLimitChanged,
  });
  adminList(z, ctx, {
    url: "/api/v1/rate-limits",
    tags,
    summary: "List rate limits (admin)",
    querystring: PageQuery,
    item: RateLimitOut,
    endpoint: bus.aclAdminRateLimitsList,
    view: rateLimitOut,
  });
  adminRoute(z, ctx, {
    method: "GET",
    url: "/api/v1/rate-limits/:id",
    tags,
    summary: "Get a rate limit (admin)",
    params: IdParams,
    response: RateLimitOut,
    endpoint: bus.aclAdminRateLimitsGet,
    request: limit,
    view: rateLimitOut,
  });
  adminRoute(z, ctx, {
    method: "DELETE",
    url: "/api/v1/rate-limits/:id",
    tags,
    summary: "Delete a rate limit (admin): no replica enforces it once this returns",
    params: IdParams,
    response: RateLimitChanged,
    endpoint: bus.aclAdminRateLimitsDelete,
    request: limit,
    view: rateLimitChanged,
  });
  adminRoute(z, ctx, {
    method: "GET",
    url: "/api/v1/me/limits",
    tags,
    summary: "The rate limits that apply to the caller (its own and its teams')",
    response: MyLimitsOut,
    endpoint: bus.aclLimitsMine,
    view: (r) => ({ rate_limits: r.rateLimits.map(rateLimitOut) }),
  });
};
