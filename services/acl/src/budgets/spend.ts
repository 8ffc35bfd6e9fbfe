import {
  decodeJson,
  ensureDurable,
  ensureStream,
  handleUntilStuck,
  pullMessages,
  redeliveryDelayMs,
  usageStream,
} from "@gatehouse/bus";
import { budgetPeriodOf, type UsageRecord, UsageRecord as UsageRecordSchema } from "@gatehouse/contracts";
import {
  boundedTransaction,
  isDatabaseTimeout,
  limitStatements,
  refusedForARow,
  withinDatabaseTime,
} from "@gatehouse/db";
import type { SpendStage } from "@gatehouse/kit";
import { and, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { ConsumerMessages, JsMsg, NatsConnection } from "nats";
import { z } from "zod";
import type { AclContext } from "../context.js";
import { heldGrants } from "../db/queries.js";
import { budgetPeriods, budgetSpendRecords, budgets, teamMembers } from "../db/schema.js";
import { decide } from "../domain/decide.js";
import { budgetRuleOf } from "../handlers/budgets.js";

/** The durable consumer every acl instance shares: each usage record is counted by one of them. */
export const SPEND_DURABLE = "acl-budget-spend";
/** Record ids are kept this long for idempotence: longer than the usage stream keeps a record (a week). */
const KEEP_COUNTED_MS = 8 * 24 * 3600 * 1000;
const PRUNE_EVERY_MS = 10 * 60 * 1000;
/**
 * A message that failed for a reason other than a record's own (the database down or hung, a
 * permission or migration gone wrong) comes back after 2 s, doubling to at most 30 s, for as long as
 * the stream keeps it (a week): never given up (no `max_deliver`), since spend acl gives up is spend
 * a budget lets through, and whatever fails so may be cured by the operator. After
 * `LOUD_AFTER_DELIVERIES` it is logged at `error` with its delivery count.
 */
export const SPEND_RETRY = { baseMs: 2_000, maxMs: 30_000 };
const LOUD_AFTER_DELIVERIES = 10;
/**
 * The longest one database step of counting (a read of a batch's budgets, one record's transaction)
 * may wait: milliseconds when the database answers. Past it — a lock held, a connection silently
 * gone — the message and the rest of its pull go back to JetStream rather than wait in acl past the
 * 30 s ack wait (and hold acl's stop) for as long as the database hangs. Per step, not per message:
 * a message of thousands of records takes as long as it needs.
 */
export const SPEND_DB_TIMEOUT_MS = 5_000;

/**
 * One database step held to `SPEND_DB_TIMEOUT_MS` (its statements are, too: a second more as
 * backstop), plus `extraMs` (a count's wait for the ingress replicas to confirm the access event it
 * emitted: at most the lease).
 */
function within<T>(step: Promise<T>, extraMs = 0): Promise<T> {
  return withinDatabaseTime(step, SPEND_DB_TIMEOUT_MS + 1_000 + extraMs);
}
/**
 * The most one record adds to a budget: what dispatch can price a call at (a billion tokens in and
 * out each, its cap, at the catalog's highest price, 1,000,000 USD per million tokens). A cost past
 * it is nonsense, yet finite in JSON: two near `Number.MAX_VALUE` overflow a period's sum, failing
 * its message on every delivery. Capped, not skipped: it is still more than any budget holds
 * (`BUDGET_MAX_USD`), so it exhausts the budgets it falls under, as a budget — a limit — should.
 */
export const SPEND_MAX_USD_PER_RECORD = 2_000_000_000;

/**
 * A stream message carries a batch of records, from any callers' calls, each checked on its own:
 * one record that fails its schema (an upstream's impossible counts, say) costs that record, never
 * the spend of the calls batched with it (dispatch's `dispatch-usage` consumer drops the same ones).
 */
const UsageMessage = z.object({ records: z.array(z.unknown()).max(10_000) });

type BudgetRow = typeof budgets.$inferSelect;

/**
 * The budgets that may apply to a batch's records, in one read: those on their principals and on
 * the teams of their users. A batch of calls under no budget costs this read alone.
 */
async function candidates(ctx: AclContext, records: UsageRecord[]) {
  const principals = [...new Set(records.map((r) => r.principal.id))];
  const users = [...new Set(records.filter((r) => r.principal.kind === "user").map((r) => r.principal.id))];
  const teamsOfUsers = ctx.db
    .select({ id: teamMembers.teamId })
    .from(teamMembers)
    .where(inArray(teamMembers.userId, users));
  const rows = await ctx.db
    .select()
    .from(budgets)
    .where(
      users.length > 0
        ? or(
            inArray(budgets.subjectId, principals),
            and(eq(budgets.subjectKind, "team"), inArray(budgets.subjectId, teamsOfUsers)),
          )
        : inArray(budgets.subjectId, principals),
    )
    .limit(10_000);
  const teamIds = rows.filter((b) => b.subjectKind === "team").map((b) => b.subjectId);
  const memberships =
    teamIds.length > 0 && users.length > 0
      ? await ctx.db
          .select({ userId: teamMembers.userId, teamId: teamMembers.teamId })
          .from(teamMembers)
          .where(and(inArray(teamMembers.userId, users), inArray(teamMembers.teamId, teamIds)))
      : [];
  const member = new Set(memberships.map((m) => `${m.userId}:${m.teamId}`));
  return { rows, member };
}

/** The budgets a usage record falls under: the same ones ingress pre-charged the call against. */
async function budgetsOf(
  ctx: AclContext,
  record: UsageRecord,
  found: Awaited<ReturnType<typeof candidates>>,
): Promise<BudgetRow[]> {
  const p = record.principal;
  const scoped = found.rows.filter(
    (b) =>
      ((b.subjectKind === p.kind && b.subjectId === p.id) ||
        (b.subjectKind === "team" && found.member.has(`${p.id}:${b.subjectId}`))) &&
      // A routed call counts against unscoped budgets only: ingress could not know its target.
      (b.account === null || (record.route === undefined && b.account === record.account)) &&
      (b.model === null || (record.route === undefined && b.model === record.model)),
  );
  if (!scoped.some((b) => b.subjectKind === "team")) return scoped;
  // A team's budget counts the calls its grant allowed (as a team's rate limit does).
  const principal = { kind: "user" as const, id: p.id, role: "member" as const };
  const held = await heldGrants(
    ctx.db,
    principal,
    record.route ?? record.account,
    record.route === undefined ? "account" : "route",
  );
  const through = new Set(decide(principal, held, "user").teamIds ?? []);
  return scoped.filter((b) => b.subjectKind !== "team" || through.has(b.subjectId));
}

/** A record Postgres refused to count for what it holds (its id and SQLSTATE: never its values). */
export interface RefusedRecord {
  id: string;
  sqlstate: string;
}

/**
 * Counts a batch of records (one stream message) against the budgets they fall under, each record
 * in its own transaction. A record Postgres refuses for what it holds (SQLSTATE class 22/23) is
 * tried once more with its budgets read again (a budget deleted since the first read breaks its
 * period's foreign key, which a fresh read cures) and, refused again, set aside and answered: it
 * would be refused on every delivery and hold the records batched with it. Any other failure throws,
 * for the whole message to be redelivered (records counted already are not counted twice).
 */
async function countAll(ctx: AclContext, records: UsageRecord[], leaseMs: number): Promise<RefusedRecord[]> {
  const priced = records.filter((r) => r.id !== undefined && r.costUsd !== null && r.costUsd > 0);
  if (priced.length === 0) return [];
  const found = await within(candidates(ctx, priced));
  if (found.rows.length === 0) return [];
  const refused: RefusedRecord[] = [];
  for (const record of priced) {
    try {
      const under = await within(budgetsOf(ctx, record, found));
      if (under.length > 0) await within(count(ctx, record, under), leaseMs);
    } catch (err) {
      if (refusedForARow(err) === undefined) throw err;
      try {
        const under = await within(budgetsOf(ctx, record, await within(candidates(ctx, [record]))));
        if (under.length > 0) await within(count(ctx, record, under), leaseMs);
      } catch (again) {
        const sqlstate = refusedForARow(again);
        if (sqlstate === undefined) throw again;
        refused.push({ id: record.id ?? "", sqlstate });
      }
    }
  }
  return refused;
}

/**
 * Adds one record's cost to its budgets' periods, once (its id is remembered in the same
 * transaction), and announces the first 80 % and 100 % crossing of each period.
 */
async function count(ctx: AclContext, record: UsageRecord, under: BudgetRow[]): Promise<void> {
  const cost = record.costUsd;
  if (record.id === undefined || cost === null) return;
  const at = Number.isFinite(Date.parse(record.at)) ? Date.parse(record.at) : ctx.now().getTime();
  const recordId = record.id;
  await ctx.changes.run(async (tx, emit) => {
    await limitStatements(tx, SPEND_DB_TIMEOUT_MS);
    const now = ctx.now();
    const fresh = await tx
      .insert(budgetSpendRecords)
      .values({ recordId, countedAt: now })
      .onConflictDoNothing()
      .returning({ id: budgetSpendRecords.recordId });
    if (fresh.length === 0) return; // a redelivery: counted already
    for (const budget of under) {
      const { start } = budgetPeriodOf(budget.period, at);
      const [period] = await tx
        .insert(budgetPeriods)
        .values({ budgetId: budget.id, periodStart: start, handedMicroUsd: 0, spentUsd: cost })
        .onConflictDoUpdate({
          target: [budgetPeriods.budgetId, budgetPeriods.periodStart],
          set: { spentUsd: sql`${budgetPeriods.spentUsd} + ${cost}` },
        })
        .returning();
      if (!period) continue;
      const key = and(eq(budgetPeriods.budgetId, budget.id), eq(budgetPeriods.periodStart, start));
      const crossing = {
        budget: budgetRuleOf(budget),
        periodStart: new Date(start).toISOString(),
        spentUsd: period.spentUsd,
      };
      if (period.thresholdAt === null && period.spentUsd >= 0.8 * budget.maxUsd) {
        await tx.update(budgetPeriods).set({ thresholdAt: now }).where(key);
        await emit({ type: "budget.threshold", ...crossing });
      }
      if (period.exhaustedAt === null && period.spentUsd >= budget.maxUsd) {
        await tx.update(budgetPeriods).set({ exhaustedAt: now }).where(key);
        await emit({ type: "budget.exhausted", ...crossing });
      }
    }
  });
}

export interface SpendFollower {
  stop(): Promise<void>;
}

/**
 * Follows the usage stream with a durable consumer shared by every acl instance (docs/governance.md):
 * a message is acked after its records' costs are committed, so a restart resumes where it stopped,
 * and a redelivered record is not counted twice (its id is remembered). Records of calls under no
 * budget cost one read.
 */
export async function followSpend(
  ctx: AclContext,
  nc: NatsConnection,
  prefix: string,
  options: {
    /** Hears how many records each message counted, failed to count, or set aside for good (metrics). */
    onSpend?: (stage: SpendStage, records: number) => void;
    /** ACCESS_LEASE_MS: how long a count that emits a budget event waits for ingress replicas. */
    leaseMs?: number;
  } = {},
): Promise<SpendFollower> {
  const onSpend = options.onSpend ?? (() => {});
  const leaseMs = options.leaseMs ?? 0;
  const log = ctx.logger.child({ component: "budget-spend" });
  // Joined inside the loop: a stream acl cannot join yet (a work queue of an older version) is
  // logged and retried, and acl, which every access check depends on, still starts.
  const join = async () => {
    const jsm = await nc.jetstreamManager();
    const stream = await ensureStream(jsm, usageStream(prefix));
    await ensureDurable(jsm, stream, SPEND_DURABLE, { maxAckPending: 1_000, ackWaitMs: 30_000 });
    return nc.jetstream().consumers.get(stream, SPEND_DURABLE);
  };
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  let prunedAt = 0;

  /** Counts one message; false when the database did not answer in time (the message went back). */
  async function handle(m: JsMsg): Promise<boolean> {
    let parsed: ReturnType<typeof UsageMessage.safeParse>;
    try {
      parsed = UsageMessage.safeParse(decodeJson(m.data));
    } catch {
      parsed = UsageMessage.safeParse(undefined);
    }
    if (!parsed.success) {
      log.warn({ seq: m.seq }, "skipping a malformed usage message");
      m.term();
      return true;
    }
    const records: UsageRecord[] = [];
    let skipped = 0;
    let capped = 0;
    let fields: string[] = [];
    for (const raw of parsed.data.records) {
      const r = UsageRecordSchema.safeParse(raw);
      if (r.success) {
        const cost = r.data.costUsd;
        if (cost !== null && cost > SPEND_MAX_USD_PER_RECORD) {
          capped++;
          records.push({ ...r.data, costUsd: SPEND_MAX_USD_PER_RECORD });
        } else records.push(r.data);
      } else {
        skipped++;
        // The fields that failed, never their values: a record names callers and keys.
        if (fields.length === 0)
          fields = [...new Set(r.error.issues.map((i) => i.path.join(".")))].slice(0, 10);
      }
    }
    if (skipped > 0) {
      log.warn({ seq: m.seq, records: skipped, fields }, "skipping usage records that fail their schema");
      onSpend("rejected", skipped);
    }
    if (capped > 0)
      log.warn(
        { seq: m.seq, records: capped, maxUsd: SPEND_MAX_USD_PER_RECORD },
        "capping the cost of usage records no call can have",
      );
    try {
      const refused = await countAll(ctx, records, leaseMs);
      if (refused.length > 0) {
        // Ids and SQLSTATEs only: the error's message and detail quote the record's values.
        log.error(
          { seq: m.seq, records: refused },
          "usage records Postgres refuses for what they hold: set aside, not counted against budgets",
        );
        onSpend("rejected", refused.length);
      }
      onSpend("counted", records.length - refused.length);
      m.ack();
    } catch (err) {
      const deliveries = m.info.deliveryCount;
      const delayMs = redeliveryDelayMs(deliveries, SPEND_RETRY);
      onSpend("count_failed", records.length);
      m.nak(delayMs);
      if (isDatabaseTimeout(err)) {
        log.warn(
          { seq: m.seq, deliveries, timeoutMs: SPEND_DB_TIMEOUT_MS, retryInMs: delayMs },
          "budget spend: the database did not answer in time; the message goes back to JetStream",
        );
        return false;
      }
      const fields = { err, seq: m.seq, deliveries, retryInMs: delayMs };
      const message = "could not count usage against budgets; JetStream will redeliver";
      if (deliveries >= LOUD_AFTER_DELIVERIES) log.error(fields, message);
      else log.warn(fields, message);
    }
    if (Date.now() - prunedAt > PRUNE_EVERY_MS) {
      prunedAt = Date.now();
      await boundedTransaction(ctx.db, SPEND_DB_TIMEOUT_MS, (tx) =>
        tx
          .delete(budgetSpendRecords)
          .where(lt(budgetSpendRecords.countedAt, new Date(Date.now() - KEEP_COUNTED_MS))),
      ).catch((err: unknown) => log.warn({ err }, "could not prune counted usage records"));
    }
    return true;
  }

  // The first try before acl answers, so its consumer holds the records of the first calls.
  let joined: Awaited<ReturnType<typeof join>> | undefined = await join().catch((err: unknown) => {
    log.warn({ err }, "budget spend consumer restarting");
    return undefined;
  });
  const loop = (async () => {
    let consumer: Awaited<ReturnType<typeof join>> | undefined;
    while (!stopped) {
      try {
        consumer ??= joined ?? (await join());
        joined = undefined;
        if (stopped) break;
        // A bounded pull, and the next only once its messages are counted: behind a database that
        // hangs, the rest wait in JetStream. (consume() pulls more as messages arrive, read or not:
        // they and their redeliveries after the ack wait piled up in acl without bound.)
        messages = await pullMessages(consumer, 100);
        const handedBack = await handleUntilStuck(messages, handle, (m) =>
          m.nak(redeliveryDelayMs(m.info.deliveryCount, SPEND_RETRY)),
        );
        if (handedBack > 0)
          log.warn(
            { messages: handedBack },
            "budget spend: handed back to JetStream untried behind a database that did not answer",
          );
      } catch (err) {
        consumer = undefined;
        if (!stopped) {
          log.warn({ err }, "budget spend consumer restarting");
          await new Promise((r) => setTimeout(r, 1_000));
        }
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      await messages?.close();
      await loop;
    },
  };
}
