import { type Route, route } from "@gatehouse/bus";
import {
  type AccessEventBody,
  type Actor,
  type AuditEvent,
  type AuditPage,
  type Endpoint,
  type EventSource,
  GatehouseError,
  type ListRequest,
  type Propagation,
} from "@gatehouse/contracts";
import { type Db, keysetAfter, keysetOrder, pageFrom, type Tx } from "@gatehouse/db";
import type { Logger } from "@gatehouse/kit";
import type { NatsConnection } from "nats";
import { appendAccessEvent } from "./append.js";
import { type AuditEntry, type AuditTable, insertAudit } from "./audit.js";
import { startAccessEventPublisher } from "./publisher.js";
import type { OutboxTable } from "./table.js";

// biome-ignore lint/suspicious/noExplicitAny: any service's drizzle schema; only its outbox and audit tables are touched here.
type AnySchema = Record<string, any>;

/** Emit an access event inside the transaction of the change that causes it. */
export type Emit = (event: AccessEventBody) => Promise<void>;

/** What a refused attempt is recorded as in the audit log (`outcome: denied`). */
export type Attempt = Omit<AuditEntry, "outcome">;

export function isAdmin(actor: Actor): boolean {
  return actor.principal.kind === "user" && actor.principal.role === "admin";
}

const NEEDS_ADMIN = "this action needs a tenant admin";

/** Tenant admins only; the caller records the refusal (see `AdminChanges.requireAdmin` for one that does). */
export function requireAdmin(actor: Actor): void {
  if (!isAdmin(actor)) throw new GatehouseError("permission_denied", NEEDS_ADMIN);
}

export interface AdminChangesOptions<S extends AnySchema> {
  db: Db<S>;
  source: EventSource;
  outbox: OutboxTable;
  audit: AuditTable;
  now: () => Date;
  /**
   * After a transaction that appended access events committed: publish them and wait (bounded by
   * the lease) until the ingress replicas confirm they applied them.
   */
  propagate: (sequence: number) => Promise<Propagation>;
  /** More to write in the same transaction for each access event (auth queues its outbound webhooks). */
  onEvent?: (tx: Tx<S>, event: AccessEventBody) => Promise<void>;
}

/**
 * The admin side of a service that changes state: each change runs in one transaction with its
 * audit row and any access events it causes, and a change that removes access returns only once the
 * ingress replicas applied it (or the bounded wait ran out; the response says which).
 */
export class AdminChanges<S extends AnySchema> {
  constructor(private readonly options: AdminChangesOptions<S>) {}

  /** Run a change: it, its audit row and its access events commit together; events propagate before the call returns. */
  async run<T>(fn: (tx: Tx<S>, emit: Emit) => Promise<T>): Promise<T> {
    return (await this.reporting(fn)).value;
  }

  /**
   * `run`, also answering how the access event reached the ingress replicas (undefined when the
   * change emitted none, e.g. revoking what was already revoked).
   */
  async reporting<T>(
    fn: (tx: Tx<S>, emit: Emit) => Promise<T>,
  ): Promise<{ value: T; propagation: Propagation | undefined }> {
    const { db, outbox, source, onEvent, propagate } = this.options;
    let last = 0;
    const value = await db.transaction(async (tx) =>
      fn(tx, async (event) => {
        last = await appendAccessEvent(tx, outbox, source, event);
        if (onEvent) await onEvent(tx, event);
      }),
    );
    return { value, propagation: last > 0 ? await propagate(last) : undefined };
  }

  /** The response of a revoking call: its result plus the propagation report, when there is one. */
  async revoking<T extends object>(
    fn: (tx: Tx<S>, emit: Emit) => Promise<T>,
  ): Promise<T & { propagation?: Propagation }> {
    const { value, propagation } = await this.reporting(fn);
    return propagation ? { ...value, propagation } : value;
  }

  /** One audit row; inside a change, pass its transaction and the time the change is stamped with. */
  audit(
    db: Db<S> | Tx<S>,
    actor: Actor | "system",
    entry: AuditEntry,
    at = this.options.now(),
  ): Promise<void> {
    return insertAudit(db, this.options.audit, actor, entry, at);
  }

  /** Record a refused attempt (outside any transaction: nothing else happens) and return the 403 to throw. */
  async deny(actor: Actor, attempt: Attempt, message: string): Promise<GatehouseError> {
    await this.audit(this.options.db, actor, { ...attempt, outcome: "denied" });
    return new GatehouseError("permission_denied", message);
  }

  /** Tenant admins only; a refusal is recorded as `attempt`. */
  async requireAdmin(actor: Actor, attempt: Attempt): Promise<void> {
    if (!isAdmin(actor)) throw await this.deny(actor, attempt, NEEDS_ADMIN);
  }

  /** A page of the audit log, newest first: it is read to answer "what just happened". */
  async auditPage(page: { limit: number; cursor?: string | undefined }): Promise<AuditPage> {
    const { db, audit } = this.options;
    const rows = await db
      .select()
      .from(audit)
      .where(keysetAfter(audit.at, audit.id, page.cursor, "desc"))
      .orderBy(...keysetOrder(audit.at, audit.id, "desc"))
      .limit(page.limit + 1);
    return pageFrom(rows, page.limit, (r) => ({ at: r.at, id: r.id }), auditView);
  }

  /** The service's `admin.audit.list` endpoint: tenant admins read the audit log. */
  auditRoute(endpoint: Endpoint<typeof ListRequest, typeof AuditPage>): Route {
    return route(endpoint, async (req) => {
      await this.requireAdmin(req.actor, { action: "audit.list", targetKind: "audit", targetId: null });
      return this.auditPage(req);
    });
  }
}

export function auditView(row: AuditTable["$inferSelect"]): AuditEvent {
  return {
    id: row.id,
    at: row.at.toISOString(),
    actorKind: row.actorKind,
    actorId: row.actorId,
    actorKeyId: row.actorKeyId,
    action: row.action,
    targetKind: row.targetKind,
    targetId: row.targetId,
    requestId: row.requestId,
    outcome: row.outcome,
    detail: row.detail,
  };
}

/** What every admin handler of a service gets; a service's context extends it with its own. */
export interface AdminContext<S extends AnySchema> {
  readonly db: Db<S>;
  readonly logger: Logger;
  readonly now: () => Date;
  /** Admin changes: each with its audit row and access events in one transaction, propagated before it returns. */
  readonly changes: AdminChanges<S>;
}

/** What a hosted service's runtime offers the publisher (a `ServiceRuntime` of packages/service-host). */
export interface AdminRuntime {
  readonly bus: { readonly nc: NatsConnection };
  readonly logger: Logger;
  readonly config: { readonly prefix: string };
  onStop(name: string, close: () => Promise<void> | void): void;
}

export interface AdminSetup<S extends AnySchema> {
  db: Db<S>;
  source: EventSource;
  outbox: OutboxTable;
  audit: AuditTable;
  /** The ingress access lease: how long a revoke waits for the relay, and then for confirmations. */
  leaseMs: number;
  now?: () => Date;
  onEvent?: (tx: Tx<S>, event: AccessEventBody) => Promise<void>;
}

/** Start the service's access-event publisher (relay and ingress roster) and answer its admin changes. */
export function startAdminChanges<S extends AnySchema>(
  runtime: AdminRuntime,
  setup: AdminSetup<S>,
): AdminChanges<S> {
  const events = startAccessEventPublisher({
    db: setup.db,
    table: setup.outbox,
    source: setup.source,
    nc: runtime.bus.nc,
    prefix: runtime.config.prefix,
    logger: runtime.logger,
    leaseMs: setup.leaseMs,
    onStop: (name, close) => runtime.onStop(name, close),
  });
  const { leaseMs: _, now = () => new Date(), ...tables } = setup;
  return new AdminChanges({ ...tables, now, propagate: events.propagate });
}

/** An audit writer over one service's audit table, for refusals recorded outside any change (actor proofs). */
export function auditWriter<S extends AnySchema>(db: Db<S>, table: AuditTable) {
  return (actor: Actor | "system", entry: AuditEntry): Promise<void> =>
    insertAudit(db, table, actor, entry, new Date());
}
