import { appendAccessEvent } from "@gatehouse/access-events";
import type { AccessEventBody, Actor, Propagation } from "@gatehouse/contracts";
import type { Db, Tx } from "@gatehouse/db";
import type { Logger } from "@gatehouse/kit";
import { type AclSchema, outbox } from "./db/schema.js";

export type AclDb = Db<AclSchema>;
export type AclTx = Tx<AclSchema>;

/** What every handler gets. */
export interface AclContext {
  readonly db: AclDb;
  readonly logger: Logger;
  readonly now: () => Date;
  /**
   * Called after a transaction that appended access events committed: publishes them and waits
   * (bounded by the lease) until ingress replicas confirm they applied them.
   */
  readonly propagate: (sequence: number) => Promise<Propagation>;
}

/** Emit an access event inside the transaction of the change that causes it. */
export type Emit = (event: AccessEventBody) => Promise<void>;

/**
 * Run an admin change in one transaction: the change, its audit row and any access events commit
 * together; events are propagated after the commit, before the call returns.
 */
export async function change<T>(ctx: AclContext, fn: (tx: AclTx, emit: Emit) => Promise<T>): Promise<T> {
  return (await changeReporting(ctx, fn)).value;
}

/**
 * `change`, for calls that revoke: also answers how the access event reached the ingress replicas
 * (undefined when the change emitted none, e.g. revoking what was already revoked).
 */
export async function changeReporting<T>(
  ctx: AclContext,
  fn: (tx: AclTx, emit: Emit) => Promise<T>,
): Promise<{ value: T; propagation: Propagation | undefined }> {
  let last = 0;
  const value = await ctx.db.transaction(async (tx) =>
    fn(tx, async (event) => {
      last = await appendAccessEvent(tx, outbox, "acl", event);
    }),
  );
  const propagation = last > 0 ? await ctx.propagate(last) : undefined;
  return { value, propagation };
}

/** The response of a revoking call: its result plus the propagation report, when there is one. */
export async function revoking<T extends object>(
  ctx: AclContext,
  fn: (tx: AclTx, emit: Emit) => Promise<T>,
): Promise<T & { propagation?: Propagation }> {
  const { value, propagation } = await changeReporting(ctx, fn);
  return propagation ? { ...value, propagation } : value;
}

export type { Actor };
