import { randomUUID } from "node:crypto";
import { type Route, route } from "@gatehouse/bus";
import {
  aclAdminBudgetsCreate,
  aclAdminBudgetsDelete,
  aclAdminBudgetsGet,
  aclAdminBudgetsList,
  aclQuotaBudgetLease,
  aclQuotaBudgetReturn,
  aclQuotaBudgets,
  BUDGETS_MAX,
  type Budget,
  type BudgetRule,
  budgetPeriodOf,
  GatehouseError,
  MICRO_USD,
} from "@gatehouse/contracts";
import { keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, eq, isNull, or } from "drizzle-orm";
import type { AclContext, AclTx } from "../context.js";
import { budgetPeriods, budgets, teams } from "../db/schema.js";
import { rulePage, rulesOn, underCap } from "./common.js";

type Row = typeof budgets.$inferSelect;
type Db = AclContext["db"] | AclTx;

export function budgetRuleOf(row: Row): BudgetRule {
  return {
    id: row.id,
    subject: { kind: row.subjectKind, id: row.subjectId },
    account: row.account,
    model: row.model,
    maxUsd: row.maxUsd,
    period: row.period,
    failOpen: row.failOpen,
  };
}

/** USD as micro-USD, the unit of slices: what the usage records' float sums are compared in. */
export const toMicro = (usd: number) => Math.round(usd * MICRO_USD);

/** Budgets with their current period's spend (one read for the page). */
async function views(db: Db, rows: Row[], at: number): Promise<Budget[]> {
  if (rows.length === 0) return [];
  const periods = rows.map((r) => budgetPeriodOf(r.period, at));
  const keys = rows.map((r, i) =>
    and(eq(budgetPeriods.budgetId, r.id), eq(budgetPeriods.periodStart, periods[i]?.start ?? 0)),
  );
  const spent = await db
    .select({ id: budgetPeriods.budgetId, spentUsd: budgetPeriods.spentUsd })
    .from(budgetPeriods)
    .where(or(...keys));
  const byId = new Map(spent.map((s) => [s.id, s.spentUsd]));
  return rows.map((row, i) => {
    const spentUsd = byId.get(row.id) ?? 0;
    return {
      ...budgetRuleOf(row),
      createdAt: row.createdAt.toISOString(),
      createdBy: row.createdBy,
      spentUsd,
      remainingUsd: Math.max(0, row.maxUsd - spentUsd),
      resetsAt: new Date(periods[i]?.end ?? 0).toISOString(),
    };
  });
}

async function view(db: Db, row: Row, at: number): Promise<Budget> {
  const [one] = await views(db, [row], at);
  if (!one) throw new Error("budget view missing");
  return one;
}

async function load(db: Db, id: string): Promise<Row> {
  const [row] = await db.select().from(budgets).where(eq(budgets.id, id));
  if (!row) throw new GatehouseError("not_found", "budget not found");
  return row;
}

const target = (id: string | null) => ({ targetKind: "budget", targetId: id });

/** `budget.exhausted` for a period whose budget is all handed out, unless it was announced already. */
async function announceExhausted(ctx: AclContext, budgetId: string, start: number): Promise<void> {
  await ctx.changes.run(async (tx, emit) => {
    const [period] = await tx
      .update(budgetPeriods)
      .set({ exhaustedAt: ctx.now() })
      .where(
        and(
          eq(budgetPeriods.budgetId, budgetId),
          eq(budgetPeriods.periodStart, start),
          isNull(budgetPeriods.exhaustedAt),
        ),
      )
      .returning();
    const [budget] = await tx.select().from(budgets).where(eq(budgets.id, budgetId));
    if (!period || !budget) return;
    await emit({
      type: "budget.exhausted",
      budget: budgetRuleOf(budget),
      periodStart: new Date(start).toISOString(),
      spentUsd: period.spentUsd,
    });
  });
}

/** The budgets on a principal and on the given teams (`GET /api/v1/me/limits`). */
export async function budgetsOn(
  ctx: AclContext,
  principal: { kind: string; id: string },
  teamIds: string[],
): Promise<Budget[]> {
  const rows = await rulesOn(ctx.db, budgets, principal, teamIds);
  return views(ctx.db, rows, ctx.now().getTime());
}

/**
 * Budgets (docs/governance.md): tenant admins create, read and delete them; a create or delete
 * reaches every ingress replica as an access event before the call returns. Replicas load them all
 * (`quota.budgets`) and lease micro-USD slices of the current period (`quota.budget_lease`), given
 * back by a replica that stops gracefully (`quota.budget_return`); what was really spent comes
 * from the usage stream (budgets/spend.ts).
 */
export function budgetRoutes(ctx: AclContext): Route[] {
  return [
    route(aclAdminBudgetsCreate, async (req) => {
      await ctx.changes.requireAdmin(req.actor, { action: "budget.create", ...target(null) });
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        await underCap(tx, budgets, BUDGETS_MAX, "budgets");
        if (req.subject.kind === "team") {
          const team = await tx.select({ id: teams.id }).from(teams).where(eq(teams.id, req.subject.id));
          if (team.length === 0) throw new GatehouseError("validation_failed", "subject: no such team");
        }
        const [row] = await tx
          .insert(budgets)
          .values({
            id: randomUUID(),
            subjectKind: req.subject.kind,
            subjectId: req.subject.id,
            account: req.account ?? null,
            model: req.model ?? null,
            maxUsd: req.maxUsd,
            period: req.period,
            failOpen: req.failOpen,
            createdAt: now,
            createdBy: req.actor.principal.id,
          })
          .returning();
        if (!row) throw new Error("budget insert returned no row");
        const rule = budgetRuleOf(row);
        await ctx.changes.audit(
          tx,
          req.actor,
          { action: "budget.create", ...target(row.id), outcome: "success", detail: { ...rule } },
          now,
        );
        await emit({ type: "budget.changed", budget: rule });
        return view(tx, row, now.getTime());
      });
    }),

    route(aclAdminBudgetsList, async (req) => {
      await ctx.changes.requireAdmin(req.actor, { action: "budget.list", ...target(null) });
      const rows = await ctx.db
        .select()
        .from(budgets)
        .where(keysetAfter(budgets.createdAt, budgets.id, req.cursor, "asc"))
        .orderBy(...keysetOrder(budgets.createdAt, budgets.id, "asc"))
        .limit(req.limit + 1);
      const page = pageFrom(
        rows,
        req.limit,
        (r) => ({ at: r.createdAt, id: r.id }),
        (r) => r,
      );
      return { ...page, items: await views(ctx.db, page.items, ctx.now().getTime()) };
    }),

    route(aclAdminBudgetsGet, async (req) => {
      await ctx.changes.requireAdmin(req.actor, { action: "budget.get", ...target(req.budgetId) });
      return view(ctx.db, await load(ctx.db, req.budgetId), ctx.now().getTime());
    }),

    route(aclAdminBudgetsDelete, async (req) => {
      await ctx.changes.requireAdmin(req.actor, { action: "budget.delete", ...target(req.budgetId) });
      return ctx.changes.revoking(async (tx, emit) => {
        const row = await load(tx, req.budgetId);
        const shown = await view(tx, row, ctx.now().getTime());
        await tx.delete(budgets).where(eq(budgets.id, row.id));
        await ctx.changes.audit(tx, req.actor, {
          action: "budget.delete",
          ...target(row.id),
          outcome: "success",
          detail: { ...budgetRuleOf(row) },
        });
        await emit({ type: "budget.deleted", budgetId: row.id });
        return shown;
      });
    }),

    route(aclQuotaBudgets, (req) => rulePage(ctx.db, budgets, req, budgetRuleOf)),

    // A slice of the current period: never more than the period holds beyond what was handed out
    // or, if more, what the usage records say was spent.
    route(aclQuotaBudgetLease, async (req) => {
      const at = ctx.now().getTime();
      const answer = await ctx.db.transaction(async (tx) => {
        const [budget] = await tx
          .select({ maxUsd: budgets.maxUsd, period: budgets.period })
          .from(budgets)
          .where(eq(budgets.id, req.budgetId));
        if (!budget) return { found: false, resetMs: 0, microUsd: 0, remainingMicroUsd: 0 };
        const { start, end } = budgetPeriodOf(budget.period, at);
        const key = and(eq(budgetPeriods.budgetId, req.budgetId), eq(budgetPeriods.periodStart, start));
        await tx
          .insert(budgetPeriods)
          .values({ budgetId: req.budgetId, periodStart: start, handedMicroUsd: 0, spentUsd: 0 })
          .onConflictDoNothing();
        const [period] = await tx.select().from(budgetPeriods).where(key).for("update");
        const handed = period?.handedMicroUsd ?? 0;
        const used = Math.max(handed, toMicro(period?.spentUsd ?? 0));
        const max = toMicro(budget.maxUsd);
        const granted = Math.min(req.microUsd, Math.max(0, max - used));
        if (granted > 0) {
          await tx
            .update(budgetPeriods)
            .set({ handedMicroUsd: used + granted })
            .where(key);
        }
        return {
          found: true,
          start,
          resetMs: end - at,
          microUsd: granted,
          remainingMicroUsd: Math.max(0, max - used - granted),
          periodStart: start,
        };
      });
      const { start, ...lease } = answer;
      // All of the period is handed out: calls are refused from here on, though what the slices
      // still hold may never be spent (a call fits only its whole pre-charge), so spend alone may
      // never reach 100 %. Announced after the lease answered, never delaying it.
      if (start !== undefined && lease.found && lease.remainingMicroUsd === 0)
        void announceExhausted(ctx, req.budgetId, start).catch((err: unknown) =>
          ctx.logger.warn({ err, budgetId: req.budgetId }, "could not announce an exhausted budget"),
        );
      return lease;
    }),

    // What a stopping replica's slice still held goes back to the period it was leased from: only
    // the current one (acl's clock), and never below nothing handed out. What the next lease may
    // grant stays `max − max(handed, spent)`, so spend the slice paid for still counts.
    route(aclQuotaBudgetReturn, async (req) => {
      const at = ctx.now().getTime();
      const taken = await ctx.db.transaction(async (tx) => {
        const [budget] = await tx
          .select({ period: budgets.period })
          .from(budgets)
          .where(eq(budgets.id, req.budgetId));
        if (!budget || budgetPeriodOf(budget.period, at).start !== req.periodStart) return 0;
        const key = and(
          eq(budgetPeriods.budgetId, req.budgetId),
          eq(budgetPeriods.periodStart, req.periodStart),
        );
        const [period] = await tx.select().from(budgetPeriods).where(key).for("update");
        const back = Math.min(req.microUsd, period?.handedMicroUsd ?? 0);
        if (period && back > 0)
          await tx
            .update(budgetPeriods)
            .set({ handedMicroUsd: period.handedMicroUsd - back })
            .where(key);
        return back;
      });
      return { microUsd: taken };
    }),
  ];
}
