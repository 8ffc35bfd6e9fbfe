import { type AuditEntry, appendAccessEvent, insertAudit } from "@gatehouse/access-events";
import type { BusClient } from "@gatehouse/bus";
import type { AccessEventBody, Actor, Propagation } from "@gatehouse/contracts";
import type { Db, Tx } from "@gatehouse/db";
import type { EgressPolicy } from "@gatehouse/egress";
import type { Logger } from "@gatehouse/kit";
import { auditEvents, type DispatchSchema, outbox } from "../db/schema.js";

export type DispatchDb = Db<DispatchSchema>;
export type DispatchTx = Tx<DispatchSchema>;

/** What the provider-account handlers get. */
export interface AccountsContext {
  readonly db: DispatchDb;
  /** Asks acl who manages an account: that relationship is acl's data, not ours. */
  readonly client: BusClient;
  readonly masterKey: Buffer;
  /** Base URLs refused on their face are refused at the admin API; calls check the resolved address. */
  readonly egress: EgressPolicy;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Publish committed access events and wait (bounded) for ingress replicas to confirm them. */
  readonly propagate: (sequence: number) => Promise<Propagation>;
}

export type Emit = (event: AccessEventBody) => Promise<void>;

/** One transaction for the change, its audit row and its access events; propagate after commit. */
export async function change<T>(
  ctx: AccountsContext,
  fn: (tx: DispatchTx, emit: Emit) => Promise<T>,
): Promise<T> {
  return (await changeReporting(ctx, fn)).value;
}

/**
 * `change`, for calls that revoke: also answers how the access event reached the ingress replicas
 * (undefined when the change emitted none, e.g. revoking what was already revoked).
 */
export async function changeReporting<T>(
  ctx: AccountsContext,
  fn: (tx: DispatchTx, emit: Emit) => Promise<T>,
): Promise<{ value: T; propagation: Propagation | undefined }> {
  let last = 0;
  const value = await ctx.db.transaction(async (tx) =>
    fn(tx, async (event) => {
      last = await appendAccessEvent(tx, outbox, "dispatch", event);
    }),
  );
  const propagation = last > 0 ? await ctx.propagate(last) : undefined;
  return { value, propagation };
}

/** The response of a revoking call: its result plus the propagation report, when there is one. */
export async function revoking<T extends object>(
  ctx: AccountsContext,
  fn: (tx: DispatchTx, emit: Emit) => Promise<T>,
): Promise<T & { propagation?: Propagation }> {
  const { value, propagation } = await changeReporting(ctx, fn);
  return propagation ? { ...value, propagation } : value;
}

export type { AuditEntry };

export function writeAudit(
  db: DispatchDb | DispatchTx,
  actor: Actor,
  at: Date,
  entry: AuditEntry,
): Promise<void> {
  return insertAudit(db, auditEvents, actor, entry, at);
}
