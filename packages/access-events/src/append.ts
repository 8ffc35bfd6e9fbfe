import type { AccessEventBody, EventSource } from "@gatehouse/contracts";
import type { Tx } from "@gatehouse/db";
import { sql } from "drizzle-orm";
import type { OutboxTable } from "./table.js";

/**
 * Record an access event inside the caller's transaction, so the event exists if and only if the
 * change that caused it committed. Sequences are assigned under a transaction-scoped advisory lock:
 * commit order equals sequence order and a rolled-back transaction leaves no gap.
 */
export async function appendAccessEvent(
  // biome-ignore lint/suspicious/noExplicitAny: any service's schema; only the outbox table is touched.
  tx: Tx<any>,
  table: OutboxTable,
  source: EventSource,
  event: AccessEventBody,
): Promise<number> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`gatehouse.outbox.${source}`}))`);
  const rows = await tx
    .insert(table)
    .values({
      sequence: sql`(select coalesce(max(${table.sequence}), 0) + 1 from ${table})`,
      type: event.type,
      payload: event,
    })
    .returning({ sequence: table.sequence });
  const row = rows[0];
  if (!row) throw new Error("outbox insert returned no row");
  return row.sequence;
}
