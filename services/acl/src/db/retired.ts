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
 * Removes retired ids older than `RETIRED_KEEP_MS`; answers how many. Rows another instance is
 * pruning at the same moment are skipped (never waited for, never a deadlock between instances).
 */
export async function pruneRetired(db: AclDb, now: Date): Promise<number> {
  const expired = db
    .select({ id: retiredResources.resourceId })
    .from(retiredResources)
    .where(lt(retiredResources.retiredAt, new Date(now.getTime() - RETIRED_KEEP_MS)))
    .for("update", { skipLocked: true });
  const removed = await db
    .delete(retiredResources)
    .where(inArray(retiredResources.resourceId, expired))
    .returning({ id: retiredResources.resourceId });
  return removed.length;
}

/** Prunes now and every `RETIRED_PRUNE_EVERY_MS` until stopped; a failed prune is logged and tried at the next. */
export function startRetiredPrune(db: AclDb, now: () => Date, logger: Logger): { stop(): void } {
  const prune = () =>
    pruneRetired(db, now())
      .then((n) => {
        if (n > 0) logger.debug({ pruned: n }, "retired resource ids pruned");
      })
      .catch((err: unknown) => logger.warn({ err }, "could not prune retired resource ids"));
  void prune();
  const timer = setInterval(() => void prune(), RETIRED_PRUNE_EVERY_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
