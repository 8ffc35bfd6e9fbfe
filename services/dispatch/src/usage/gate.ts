import { GatehouseError } from "@gatehouse/contracts";
import { sql } from "drizzle-orm";
import type { UsageDb } from "./scope.js";

/** Usage queries one dispatch instance runs at once, and how many more may wait for a turn. */
export const USAGE_QUERIES_AT_ONCE = 2;
export const USAGE_QUERIES_WAITING = 16;

/** How long a usage query may take, at most, and how it is held to it. */
export interface UsageQueryLimits {
  /** The caller's time for the whole request, from its arrival (config `usageQueryTimeoutMs`). */
  timeoutMs: number;
  /** Postgres cancels the query when it runs out (`statement_timeout`); PGlite cannot (see below). */
  statementTimeout: boolean;
}

/**
 * Usage queries share the instance's database pool with every call's account and plan reads: at
 * most `USAGE_QUERIES_AT_ONCE` run, `USAGE_QUERIES_WAITING` more wait, and the rest are refused as
 * rate limited (429, Retry-After 1) rather than let a polling dashboard take the pool. A query gets
 * what is left of `timeoutMs` since its request arrived (waiting for a turn and asking acl who may see
 * what count): none left, it is not started; on Postgres it runs under that as its statement timeout,
 * so a query whose caller has given up (ingress's admin timeout) does not run on. Either answers
 * `service_timeout` (504) asking for a narrower range. PGlite has no statement timeout: it accepts the
 * setting and never fires it, and its queries run on the event loop, so no timer here could stop one.
 */
export class UsageQueries {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly db: UsageDb,
    private readonly limits?: UsageQueryLimits,
  ) {}

  /** `startedAt` (`performance.now()`): when the request arrived, which the time left counts from. */
  async run<T>(query: (db: UsageDb) => Promise<T>, startedAt = performance.now()): Promise<T> {
    if (this.running < USAGE_QUERIES_AT_ONCE) this.running++;
    else if (this.waiting.length < USAGE_QUERIES_WAITING) {
      // The turn is handed over by the query that ends (running stays counted).
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      throw new GatehouseError("rate_limited", "too many usage queries at once; retry shortly", {
        retryAfterSeconds: 1,
      });
    }
    try {
      return await this.timed(query, startedAt);
    } catch (err) {
      throw timedOut(err) ?? err;
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private timed<T>(query: (db: UsageDb) => Promise<T>, startedAt: number): Promise<T> {
    if (this.limits === undefined) return query(this.db);
    const left = Math.floor(this.limits.timeoutMs - (performance.now() - startedAt));
    // Never 0 as a statement timeout: to Postgres that means none.
    if (left < 1) throw tooLong();
    if (!this.limits.statementTimeout) return query(this.db);
    return this.db.transaction(async (tx) => {
      await tx.execute(sql.raw(`SET LOCAL statement_timeout = ${left}`));
      return query(tx as unknown as UsageDb);
    });
  }
}

function tooLong(cause?: unknown): GatehouseError {
  return new GatehouseError(
    "service_timeout",
    "the usage query took too long; narrow the range or filter, or group by less",
    cause === undefined ? {} : { cause },
  );
}

/** Postgres's "canceling statement due to statement timeout" (57014), however drizzle wrapped it. */
function timedOut(err: unknown): GatehouseError | undefined {
  let at: unknown = err;
  for (let depth = 0; depth < 4 && typeof at === "object" && at !== null; depth++) {
    if ((at as { code?: unknown }).code === "57014") return tooLong(err);
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}
