import { sql } from "drizzle-orm";
import type { Db, Tx } from "./database.js";

/** How much longer than its statement timeout a bounded transaction's backstop timer waits. */
const BACKSTOP_MS = 1_000;

/** A bounded transaction ran out of time (`boundedTransaction`): the database did not answer. */
export class DatabaseTimeoutError extends Error {
  override readonly name = "DatabaseTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`the database did not answer within ${timeoutMs} ms`);
  }
}

/**
 * Runs `fn` in a transaction held to `timeoutMs`: each statement runs under that statement timeout
 * (`SET LOCAL`), so one waiting on a lock is cancelled by Postgres (57014) and the transaction's
 * locks go with it; and a timer a second later rejects with `DatabaseTimeoutError` for a connection
 * that no longer answers at all (a statement the server never received it cannot cancel; the driver
 * waits on it until the socket gives up). For work a durable consumer can hand back to JetStream
 * (nak) rather than wait on without end. PGlite accepts the setting and never fires it, and its
 * queries run on the event loop, so there the timer cannot fire during one either.
 */
export async function boundedTransaction<S extends Record<string, unknown>, T>(
  db: Db<S>,
  timeoutMs: number,
  fn: (tx: Tx<S>) => Promise<T>,
): Promise<T> {
  const ms = statementTimeoutMs(timeoutMs);
  const work = db.transaction(async (tx) => {
    await limitStatements(tx, ms);
    return fn(tx);
  });
  return withinDatabaseTime(work, ms + BACKSTOP_MS);
}

/** A time as a statement timeout: whole milliseconds, never 0 (to Postgres that means none). */
function statementTimeoutMs(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs));
}

/**
 * Holds each later statement of the transaction `tx` to `timeoutMs` (`SET LOCAL statement_timeout`):
 * for a transaction opened elsewhere (`AdminChanges.run`), which `boundedTransaction` cannot open.
 */
export async function limitStatements<S extends Record<string, unknown>>(tx: Tx<S>, timeoutMs: number) {
  await tx.execute(sql.raw(`SET LOCAL statement_timeout = ${statementTimeoutMs(timeoutMs)}`));
}

/**
 * `work`, or `DatabaseTimeoutError` once `timeoutMs` passed without its answer: for database work
 * the caller hands back rather than wait on (the work itself goes on until its connection answers
 * or gives up; its late rejection is swallowed).
 */
export async function withinDatabaseTime<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseTimeoutError(timeoutMs)), timeoutMs);
  });
  work.catch(() => {});
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Postgres's "canceling statement due to statement timeout" (57014) or the backstop's timeout. */
export function isDatabaseTimeout(err: unknown): boolean {
  let at: unknown = err;
  for (let depth = 0; depth < 4 && typeof at === "object" && at !== null; depth++) {
    if (at instanceof DatabaseTimeoutError || (at as { code?: unknown }).code === "57014") return true;
    at = (at as { cause?: unknown }).cause;
  }
  return false;
}
