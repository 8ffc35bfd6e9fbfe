import { GatehouseError } from "@gatehouse/contracts";
import { sql } from "drizzle-orm";
import type { UsageDb } from "./scope.js";

/** Usage queries one dispatch instance runs at once, and how many more may wait for a turn. */
export const USAGE_QUERIES_AT_ONCE = 2;
export const USAGE_QUERIES_WAITING = 16;

/**
 * Usage queries share the instance's database pool with every call's account and plan reads: at
 * most `USAGE_QUERIES_AT_ONCE` run, `USAGE_QUERIES_WAITING` more wait, and the rest are refused as
 * rate limited (429, Retry-After 1) rather than let a polling dashboard take the pool. Each runs
 * under a statement timeout (Postgres only: PGlite has one connection and no timer for it), so a
 * query whose caller has given up (ingress's admin timeout) does not run on; a query that hits it
 * answers `service_timeout` (504) asking for a narrower range.
 */
export class UsageQueries {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly db: UsageDb,
    private readonly statementTimeoutMs?: number,
  ) {}

  async run<T>(query: (db: UsageDb) => Promise<T>): Promise<T> {
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
      return await this.timed(query);
    } catch (err) {
      throw timedOut(err) ?? err;
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  private timed<T>(query: (db: UsageDb) => Promise<T>): Promise<T> {
    const ms = this.statementTimeoutMs;
    if (ms === undefined) return query(this.db);
    return this.db.transaction(async (tx) => {
      await tx.execute(sql.raw(`SET LOCAL statement_timeout = ${Math.round(ms)}`));
      return query(tx as unknown as UsageDb);
    });
  }
}

/** Postgres's "canceling statement due to statement timeout" (57014), however drizzle wrapped it. */
function timedOut(err: unknown): GatehouseError | undefined {
  let at: unknown = err;
  for (let depth = 0; depth < 4 && typeof at === "object" && at !== null; depth++) {
    if ((at as { code?: unknown }).code === "57014") {
      return new GatehouseError(
        "service_timeout",
        "the usage query took too long; narrow the range or filter, or group by less",
        { cause: err },
      );
    }
    at = (at as { cause?: unknown }).cause;
  }
  return undefined;
}
