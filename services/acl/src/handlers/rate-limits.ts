import { randomUUID } from "node:crypto";
import { type Route, route } from "@gatehouse/bus";
import {
  aclAdminRateLimitsCreate,
  aclAdminRateLimitsDelete,
  aclAdminRateLimitsGet,
  aclAdminRateLimitsList,
  aclLimitsMine,
  aclQuotaLease,
  aclQuotaRules,
  GatehouseError,
  RATE_LIMITS_MAX,
  RATE_LIMITS_PER_SUBJECT_MAX,
  RATE_WINDOW_MS,
  type RateLimit,
  type RateLimitRule,
} from "@gatehouse/contracts";
import { keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, asc, count, eq, inArray, isNull, lt, or, type SQL } from "drizzle-orm";
import type { AclContext, AclTx } from "../context.js";
import { OWN_WINDOW_SUBJECT, rateLimits, rateLimitWindows, teamMembers } from "../db/schema.js";
import { budgetsOn } from "./budgets.js";
import { rulePage, underCap } from "./common.js";

type Row = typeof rateLimits.$inferSelect;

function ruleOf(row: Row): RateLimitRule {
  return {
    id: row.id,
    subject: { kind: row.subjectKind, id: row.subjectId },
    account: row.account,
    model: row.model,
    requestsPerMinute: row.requestsPerMinute,
    tokensPerMinute: row.tokensPerMinute,
    failOpen: row.failOpen,
  };
}

function view(row: Row): RateLimit {
  return { ...ruleOf(row), createdAt: row.createdAt.toISOString(), createdBy: row.createdBy };
}

async function load(db: AclContext["db"] | AclTx, id: string): Promise<Row> {
  const [row] = await db.select().from(rateLimits).where(eq(rateLimits.id, id));
  if (!row) throw new GatehouseError("not_found", "rate limit not found");
  return row;
}

const target = (id: string | null) => ({ targetKind: "rate_limit", targetId: id });

/** The limits on one subject, or (id null) the defaults of its kind. */
function onSubject(kind: Row["subjectKind"], id: string | null): SQL | undefined {
  return and(
    eq(rateLimits.subjectKind, kind),
    id === null ? isNull(rateLimits.subjectId) : eq(rateLimits.subjectId, id),
  );
}

const sameScope = (a: Row, b: Row) => a.account === b.account && a.model === b.model;

/**
 * Rate limits (docs/governance.md): tenant admins create, read and delete them; a create or delete
 * reaches every ingress replica as an access event before the call returns. Replicas load them all
 * (`quota.rules`) and lease slices of each minute window (`quota.lease`).
 */
export function rateLimitRoutes(ctx: AclContext): Route[] {
  return [
    route(aclAdminRateLimitsCreate, async (req) => {
      await ctx.changes.requireAdmin(req.actor, { action: "rate_limit.create", ...target(null) });
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        await underCap(tx, rateLimits, RATE_LIMITS_MAX, "rate_limits");
        const [own] = await tx
          .select({ n: count() })
          .from(rateLimits)
          .where(onSubject(req.subject.kind, req.subject.id));
        if (Number(own?.n ?? 0) >= RATE_LIMITS_PER_SUBJECT_MAX) {
          throw new GatehouseError(
            "conflict",
            req.subject.id === null
              ? `the ${req.subject.kind} default holds its maximum of ${RATE_LIMITS_PER_SUBJECT_MAX} rate limits`
              : `this ${req.subject.kind} holds its maximum of ${RATE_LIMITS_PER_SUBJECT_MAX} rate limits`,
          );
        }
        const [row] = await tx
          .insert(rateLimits)
          .values({
            id: randomUUID(),
            subjectKind: req.subject.kind,
            subjectId: req.subject.id,
            account: req.account ?? null,
            model: req.model ?? null,
            requestsPerMinute: req.requestsPerMinute ?? null,
            tokensPerMinute: req.tokensPerMinute ?? null,
            failOpen: req.failOpen,
            createdAt: now,
            createdBy: req.actor.principal.id,
          })
          .returning();
        if (!row) throw new Error("rate limit insert returned no row");
        const rule = ruleOf(row);
        await ctx.changes.audit(
          tx,
          req.actor,
          { action: "rate_limit.create", ...target(row.id), outcome: "success", detail: { ...rule } },
          now,
        );
        await emit({ type: "rate_limit.changed", limit: rule });
        return view(row);
      });
    }),

    route(aclAdminRateLimitsList, async (req) => {
      await ctx.changes.requireAdmin(req.actor, { action: "rate_limit.list", ...target(null) });
      const rows = await ctx.db
        .select()
        .from(rateLimits)
        .where(keysetAfter(rateLimits.createdAt, rateLimits.id, req.cursor, "asc"))
        .orderBy(...keysetOrder(rateLimits.createdAt, rateLimits.id, "asc"))
        .limit(req.limit + 1);
      return pageFrom(rows, req.limit, (r) => ({ at: r.createdAt, id: r.id }), view);
    }),

    route(aclAdminRateLimitsGet, async (req) => {
      await ctx.changes.requireAdmin(req.actor, { action: "rate_limit.get", ...target(req.limitId) });
      return view(await load(ctx.db, req.limitId));
    }),

    route(aclAdminRateLimitsDelete, async (req) => {
      await ctx.changes.requireAdmin(req.actor, { action: "rate_limit.delete", ...target(req.limitId) });
      return ctx.changes.revoking(async (tx, emit) => {
        const row = await load(tx, req.limitId);
        await tx.delete(rateLimits).where(eq(rateLimits.id, row.id));
        await ctx.changes.audit(tx, req.actor, {
          action: "rate_limit.delete",
          ...target(row.id),
          outcome: "success",
          detail: { ...ruleOf(row) },
        });
        await emit({ type: "rate_limit.deleted", limitId: row.id });
        return view(row);
      });
    }),

    // Any caller: the limits on itself and on the teams it belongs to, and the defaults that apply.
    route(aclLimitsMine, async (req) => {
      const p = req.actor.principal;
      const teams =
        p.kind === "user"
          ? (
              await ctx.db
                .select({ id: teamMembers.teamId })
                .from(teamMembers)
                .where(eq(teamMembers.userId, p.id))
                .limit(1_000)
            ).map((t) => t.id)
          : [];
      const kinds: Row["subjectKind"][] = teams.length > 0 ? [p.kind, "team"] : [p.kind];
      const rows = await ctx.db
        .select()
        .from(rateLimits)
        .where(
          or(
            onSubject(p.kind, p.id),
            teams.length > 0
              ? and(eq(rateLimits.subjectKind, "team"), inArray(rateLimits.subjectId, teams))
              : undefined,
            and(inArray(rateLimits.subjectKind, kinds), isNull(rateLimits.subjectId)),
          ),
        )
        .orderBy(asc(rateLimits.createdAt))
        .limit(1_000);
      // A default applies where no limit of the subject's own has its scope: to the caller, or to
      // at least one of its teams.
      const explicit = rows.filter((r) => r.subjectId !== null);
      const replaced = (d: Row) =>
        d.subjectKind === "team"
          ? teams.every((t) => explicit.some((e) => e.subjectId === t && sameScope(e, d)))
          : explicit.some((e) => e.subjectId === p.id && sameScope(e, d));
      return {
        rateLimits: rows.filter((r) => r.subjectId !== null || !replaced(r)).map(view),
        budgets: await budgetsOn(ctx, p, teams),
      };
    }),

    route(aclQuotaRules, (req) => rulePage(ctx.db, rateLimits, req, ruleOf)),

    // A slice of a window: never more than the window has left. Rows of past windows are dropped.
    route(aclQuotaLease, (req) => {
      const at = ctx.now().getTime();
      const windowStart = at - (at % RATE_WINDOW_MS);
      const resetMs = windowStart + RATE_WINDOW_MS - at;
      return ctx.db.transaction(async (tx) => {
        const [limit] = await tx
          .select({
            r: rateLimits.requestsPerMinute,
            t: rateLimits.tokensPerMinute,
            subject: rateLimits.subjectId,
          })
          .from(rateLimits)
          .where(eq(rateLimits.id, req.limitId));
        if (!limit) {
          return {
            found: false,
            windowStart,
            resetMs,
            requests: 0,
            tokens: 0,
            remainingRequests: 0,
            remainingTokens: 0,
          };
        }
        // A default limit counts each subject in windows of its own.
        const subjectId = limit.subject === null ? req.subjectId : OWN_WINDOW_SUBJECT;
        if (subjectId === undefined) {
          throw new GatehouseError("invalid_request", "a default rate limit is leased for a subject");
        }
        const key = and(
          eq(rateLimitWindows.limitId, req.limitId),
          eq(rateLimitWindows.windowStart, windowStart),
          eq(rateLimitWindows.subjectId, subjectId),
        );
        await tx
          .insert(rateLimitWindows)
          .values({ limitId: req.limitId, windowStart, subjectId, requests: 0, tokens: 0 })
          .onConflictDoNothing();
        const [window] = await tx.select().from(rateLimitWindows).where(key).for("update");
        const handedRequests = window?.requests ?? 0;
        const handedTokens = window?.tokens ?? 0;
        const requests =
          limit.r === null ? req.requests : Math.min(req.requests, Math.max(0, limit.r - handedRequests));
        const tokens =
          limit.t === null ? req.tokens : Math.min(req.tokens, Math.max(0, limit.t - handedTokens));
        if (requests > 0 || tokens > 0) {
          await tx
            .update(rateLimitWindows)
            .set({ requests: handedRequests + requests, tokens: handedTokens + tokens })
            .where(key);
        }
        await tx
          .delete(rateLimitWindows)
          .where(
            and(eq(rateLimitWindows.limitId, req.limitId), lt(rateLimitWindows.windowStart, windowStart)),
          );
        return {
          found: true,
          windowStart,
          resetMs,
          requests,
          tokens,
          remainingRequests: limit.r === null ? null : Math.max(0, limit.r - handedRequests - requests),
          remainingTokens: limit.t === null ? null : Math.max(0, limit.t - handedTokens - tokens),
        };
      });
    }),
  ];
}
