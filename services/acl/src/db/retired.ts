import type { Logger } from "@gatehouse/kit";
import { inArray, lt } from "drizzle-orm";
import type { AclDb } from "../context.js";
import { retiredResources } from "./schema.js";

/**
 * How long acl remembers a retired resource id. A row is read by a create's clear for that id that
 * reaches acl after the id was retired, and by a grant request carrying it (a first claim); both were
 * sent while the resource was being made or looked up, and give up after the admin timeout (15 s by
 * default; a queued NATS request is answered at once or never). A day is thousands of times that, so
 * no such request outlives its row, while the table holds only the ids retired in the last day.
 */
export const RETIRED_KEEP_MS = 24 * 3600 * 1000;
/** How often each acl instance prunes (and once at start). */
export const RETIRED_PRUNE_EVERY_MS = 3600 * 1000;

/**
 * Rows one prune statement deletes at most: a backlog (the ids kept before pruning existed, or a
 * burst of deletes) is worked through in short statements, so no statement locks, or returns, the
 * whole table — and on PGlite, where every service's queries wait in one queue, the others run
 * between batches.
 */
export const RETIRED_PRUNE_BATCH = 1_000;

/**
 * Removes retired ids older than `RETIRED_KEEP_MS`, `batch` rows a statement until none is left;
 * answers how many, in how many statements. Rows another instance is pruning at the same moment are
 * skipped (never waited for, never a deadlock between instances). `stopped` ends it between batches.
 */
export async function pruneRetired(
  db: AclDb,
  now: Date,
  batch = RETIRED_PRUNE_BATCH,
  stopped: () => boolean = () => false,
): Promise<{ removed: number; batches: number }> {
  const before = new Date(now.getTime() - RETIRED_KEEP_MS);
  let removed = 0;
  let batches = 0;
  for (;;) {
    const expired = db
      .select({ id: retiredResources.resourceId })
      .from(retiredResources)
      .where(lt(retiredResources.retiredAt, before))
      .limit(batch)
      .for("update", { skipLocked: true });
    const rows = await db
      .delete(retiredResources)
      .where(inArray(retiredResources.resourceId, expired))
      .returning({ id: retiredResources.resourceId });
    removed += rows.length;
    batches++;
    // A short batch: none left (or the rest is another instance's, being pruned now).
    if (rows.length < batch || stopped()) return { removed, batches };
  }
}

/**
 * Prunes now and every `RETIRED_PRUNE_EVERY_MS` until stopped — one prune at a time (a backlog's
 * may outlast the period) — and a failed prune is logged and tried at the next.
 */
export function startRetiredPrune(db: AclDb, now: () => Date, logger: Logger): { stop(): void } {
  let stopped = false;
  let running = false;
  const prune = () => {
    if (stopped || running) return;
    running = true;
    pruneRetired(db, now(), RETIRED_PRUNE_BATCH, () => stopped)
      .then(({ removed }) => {
        if (removed > 0) logger.debug({ pruned: removed }, "retired resource ids pruned");
      })
      .catch((err: unknown) => {
        if (!stopped) logger.warn({ err }, "could not prune retired resource ids");
      })
      .finally(() => {
        running = false;
      });
  };
  prune();
  const timer = setInterval(prune, RETIRED_PRUNE_EVERY_MS);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
