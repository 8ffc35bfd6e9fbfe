import { type Actor, GatehouseError, type GrantResource } from "@gatehouse/contracts";
import { and, asc, count, eq, gt, inArray, or, sql } from "drizzle-orm";
import type { AclContext, AclDb, AclTx } from "../context.js";
import { heldGrants } from "../db/queries.js";
import type { budgets, rateLimits } from "../db/schema.js";
import { decide } from "../domain/decide.js";

/** Tenant admins and the resource's managers (directly or through a team) may manage its grants. */
export async function requireManager(
  ctx: AclContext,
  actor: Actor,
  on: { resource: GrantResource; name: string },
  action: string,
): Promise<void> {
  const held = await heldGrants(ctx.db, actor.principal, on.name, on.resource);
  if (!decide(actor.principal, held, "manager").allowed) {
    const account = on.resource === "account";
    throw await ctx.changes.deny(
      actor,
      { action, targetKind: account ? "provider_account" : "route", targetId: on.name },
      `managing ${account ? "provider account" : "route"} '${on.name}' needs the manager role on it`,
    );
  }
}

/** A table of rules ingress replicas hold (rate limits, budgets): an id and a subject. */
type RuleTable = typeof rateLimits | typeof budgets;

/**
 * Creates count one after the other, each under the gateway's cap: two at once both saw room and
 * went past it. Call first in the create's transaction.
 */
export async function underCap(tx: AclTx, table: RuleTable, max: number, noun: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`gatehouse.acl.${noun}.create`}))`);
  const [held] = await tx.select({ n: count() }).from(table);
  if (Number(held?.n ?? 0) >= max) {
    throw new GatehouseError(
      "conflict",
      `this gateway holds its maximum of ${max} ${noun.replace("_", " ")}`,
    );
  }
}

/** Every rule, in id order, a page at a time: what an ingress replica loads at start and after a reset. */
export async function rulePage<T extends RuleTable, R extends { id: string }>(
  db: AclDb,
  table: T,
  req: { after?: string | undefined; limit: number },
  ruleOf: (row: T["$inferSelect"]) => R,
): Promise<{ rules: R[]; next: string | null }> {
  const rows = (await db
    .select()
    .from(table as RuleTable)
    .where(req.after === undefined ? undefined : gt(table.id, req.after))
    .orderBy(asc(table.id))
    .limit(req.limit + 1)) as Array<T["$inferSelect"]>;
  const rules = rows.slice(0, req.limit).map(ruleOf);
  return { rules, next: rows.length > req.limit ? (rules.at(-1)?.id ?? null) : null };
}

/** The rules on a principal and on its teams (`GET /api/v1/me/limits`), oldest first. */
export async function rulesOn<T extends RuleTable>(
  db: AclDb,
  table: T,
  principal: { kind: string; id: string },
  teamIds: readonly string[],
): Promise<Array<T["$inferSelect"]>> {
  const own = and(eq(table.subjectKind, principal.kind as "user"), eq(table.subjectId, principal.id));
  const where =
    teamIds.length > 0
      ? or(own, and(eq(table.subjectKind, "team"), inArray(table.subjectId, [...teamIds])))
      : own;
  return (await db
    .select()
    .from(table as RuleTable)
    .where(where)
    .orderBy(asc(table.createdAt))
    .limit(1_000)) as Array<T["$inferSelect"]>;
}
