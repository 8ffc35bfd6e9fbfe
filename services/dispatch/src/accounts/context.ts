import { randomUUID } from "node:crypto";
import type { BusClient } from "@gatehouse/bus";
import type { AccessEventBody, Actor } from "@gatehouse/contracts";
import type { Db, Tx } from "@gatehouse/db";
import type { Logger } from "@gatehouse/kit";
import { appendAccessEvent } from "@gatehouse/outbox";
import { auditEvents, type DispatchSchema, outbox } from "../db/schema.js";

export type DispatchDb = Db<DispatchSchema>;
export type DispatchTx = Tx<DispatchSchema>;

/** What the provider-account handlers get. */
export interface AccountsContext {
  readonly db: DispatchDb;
  /** Asks acl who manages an account: that relationship is acl's data, not ours. */
  readonly client: BusClient;
  readonly masterKey: Buffer;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Publish committed access events and wait (bounded) for ingress replicas to confirm them. */
  readonly propagate: (sequence: number) => Promise<void>;
}

export type Emit = (event: AccessEventBody) => Promise<void>;

/** One transaction for the change, its audit row and its access events; propagate after commit. */
export async function change<T>(
  ctx: AccountsContext,
  fn: (tx: DispatchTx, emit: Emit) => Promise<T>,
): Promise<T> {
  let last = 0;
  const result = await ctx.db.transaction(async (tx) =>
    fn(tx, async (event) => {
      last = await appendAccessEvent(tx, outbox, "dispatch", event);
    }),
  );
  if (last > 0) await ctx.propagate(last);
  return result;
}

export interface AuditEntry {
  action: string;
  targetKind: string;
  targetId: string | null;
  outcome: "success" | "denied";
  detail?: Record<string, unknown>;
}

export async function writeAudit(
  db: DispatchDb | DispatchTx,
  actor: Actor,
  at: Date,
  entry: AuditEntry,
): Promise<void> {
  await db.insert(auditEvents).values({
    id: randomUUID(),
    at,
    actorKind: actor.principal.kind,
    actorId: actor.principal.id,
    actorKeyId: actor.keyId,
    action: entry.action,
    targetKind: entry.targetKind,
    targetId: entry.targetId,
    requestId: actor.requestId,
    outcome: entry.outcome,
    detail: entry.detail ?? {},
  });
}
