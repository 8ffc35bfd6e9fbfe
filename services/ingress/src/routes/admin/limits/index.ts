import * as bus from "@gatehouse/contracts";
import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { z } from "zod";
import { actorOf } from "../../../auth/caller.js";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, Id, IdParams, PageQuery, Time, typed } from "../http.js";
import { Propagated, propagationOut } from "../propagation.js";

const PerMinute = z.number().int().min(1).max(bus.LIMIT_MAX_PER_MINUTE);
/** One user, team or virtual account: what a budget is on (budgets have no per-kind default). */
const OneSubject = z.object({ kind: bus.LimitSubjectKind, id: Id }).strict();
const Subject = z.union([
  OneSubject,
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

/** Models are named per account: a model scope alone names nothing. */
const modelNeedsAccount = (b: { scope?: { provider_account?: string; model?: string } | undefined }) =>
  b.scope?.model === undefined || b.scope.provider_account !== undefined;
const MODEL_NEEDS_ACCOUNT = {
  message: "a model scope needs its provider_account (models are named per account)",
};
const ScopeOut = z.object({ provider_account: z.string().nullable(), model: z.string().nullable() });

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
  .refine(modelNeedsAccount, MODEL_NEEDS_ACCOUNT);

export const RateLimitOut = z.object({
  id: Id,
  subject: z.object({
    kind: bus.LimitSubjectKind,
    /** Null for a default. */
    id: Id.nullable(),
    default: z.boolean(),
  }),
  scope: ScopeOut,
  requests_per_minute: z.number().int().nullable(),
  tokens_per_minute: z.number().int().nullable(),
  fail_open: z.boolean(),
  created_at: Time,
  created_by: Id.nullable(),
});
const RateLimitChanged = RateLimitOut.extend(Propagated);
export const CreateBudgetBody = z
  .object({
    subject: OneSubject,
    scope: Scope.optional(),
    max_usd: z
      .number()
      .positive()
      .max(bus.BUDGET_MAX_USD)
      .describe("USD the subject may spend per period (usage records' cost at the models' prices)"),
    period: bus.BudgetPeriod.describe("UTC calendar day, ISO week (from Monday) or calendar month"),
    fail_open: z
      .boolean()
      .optional()
      .describe("Admit calls while acl cannot be reached (the budget's bound does not hold meanwhile)"),
  })
  .strict()
  .refine(modelNeedsAccount, MODEL_NEEDS_ACCOUNT);

export const BudgetOut = z.object({
  id: Id,
  subject: z.object({ kind: bus.LimitSubjectKind, id: Id }),
  scope: ScopeOut,
  max_usd: z.number(),
  period: bus.BudgetPeriod,
  fail_open: z.boolean(),
  spent_usd: z.number(),
  remaining_usd: z.number(),
  resets_at: Time,
  created_at: Time,
  created_by: Id.nullable(),
});
const BudgetChanged = BudgetOut.extend(Propagated);
const MyLimitsOut = z.object({ rate_limits: z.array(RateLimitOut), budgets: z.array(BudgetOut) });

export function budgetOut(b: bus.Budget): z.infer<typeof BudgetOut> {
  return {
    id: b.id,
    subject: b.subject,
    scope: { provider_account: b.account, model: b.model },
    max_usd: b.maxUsd,
    period: b.period,
    fail_open: b.failOpen,
    spent_usd: b.spentUsd,
    remaining_usd: b.remainingUsd,
    resets_at: b.resetsAt,
    created_at: b.createdAt,
    created_by: b.createdBy,
  };
}

/**
 * A budget on a user or virtual account that does not exist would never count anything: refused
 * at the edge (auth owns them; a caller auth refuses to show them to is left to acl, which refuses
 * and audits a non-admin). acl checks a team itself.
 */
async function checkSubject(ctx: IngressContext, request: FastifyRequest, subject: bus.LimitSubject) {
  if (subject.kind === "team") return;
  const endpoint = subject.kind === "user" ? bus.authAdminUsersGet : bus.authAdminVirtualAccountsGet;
  try {
    await ctx.client.request(endpoint, { actor: actorOf(request), id: subject.id });
  } catch (err) {
    if (err instanceof bus.GatehouseError && err.code === "not_found")
      throw new bus.GatehouseError("validation_failed", `subject: no such ${subject.kind.replace("_", " ")}`);
    if (!(err instanceof bus.GatehouseError && err.code === "permission_denied")) throw err;
  }
}

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
    summary: "The rate limits and budgets that apply to the caller (its own and its teams')",
    response: MyLimitsOut,
    endpoint: bus.aclLimitsMine,
    view: (r) => ({ rate_limits: r.rateLimits.map(rateLimitOut), budgets: r.budgets.map(budgetOut) }),
  });

  const budgetTags = ["budgets"];
  const budget = ({ params }: { params: { id: string } }) => ({ budgetId: params.id });
  const budgetChanged = (b: bus.Budget & { propagation?: bus.Propagation }) => ({
    ...budgetOut(b),
    ...propagationOut(b.propagation),
  });
  adminRoute(z, ctx, {
    method: "POST",
    url: "/api/v1/budgets",
    tags: budgetTags,
    summary: "Create a budget (admin): enforced by every replica before this returns",
    body: CreateBudgetBody,
    response: BudgetChanged,
    status: 201,
    endpoint: bus.aclAdminBudgetsCreate,
    request: async ({ body }, request) => {
      await checkSubject(ctx, request, body.subject);
      return {
        subject: body.subject,
        ...(body.scope?.provider_account === undefined ? {} : { account: body.scope.provider_account }),
        ...(body.scope?.model === undefined ? {} : { model: body.scope.model }),
        maxUsd: body.max_usd,
        period: body.period,
        ...(body.fail_open === undefined ? {} : { failOpen: body.fail_open }),
      };
    },
    view: budgetChanged,
  });
  adminList(z, ctx, {
    url: "/api/v1/budgets",
    tags: budgetTags,
    summary: "List budgets with their current period's spend (admin)",
    querystring: PageQuery,
    item: BudgetOut,
    endpoint: bus.aclAdminBudgetsList,
    view: budgetOut,
  });
  adminRoute(z, ctx, {
    method: "GET",
    url: "/api/v1/budgets/:id",
    tags: budgetTags,
    summary: "Get a budget: spent, remaining and when its period resets (admin)",
    params: IdParams,
    response: BudgetOut,
    endpoint: bus.aclAdminBudgetsGet,
    request: budget,
    view: budgetOut,
  });
  adminRoute(z, ctx, {
    method: "DELETE",
    url: "/api/v1/budgets/:id",
    tags: budgetTags,
    summary: "Delete a budget (admin): no replica enforces it once this returns",
    params: IdParams,
    response: BudgetChanged,
    endpoint: bus.aclAdminBudgetsDelete,
    request: budget,
    view: budgetChanged,
  });
};
