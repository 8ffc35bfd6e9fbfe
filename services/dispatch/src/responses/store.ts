import type { PrincipalKind } from "@gatehouse/contracts";
import type { Db } from "@gatehouse/db";
import { and, arrayOverlaps, eq, gt, lte, sql } from "drizzle-orm";
import { responses } from "../db/responses-schema.js";

export type ResponseRow = typeof responses.$inferSelect;

export interface Owner {
  id: string;
  kind: PrincipalKind;
}

/** How long the owner of a provider-kept response is remembered: OpenAI keeps stored responses 30 days. */
export const NATIVE_OWNERSHIP_DAYS = 30;

const DAY_MS = 24 * 3_600_000;

export interface Ownership {
  id: string;
  owner: Owner;
  account: string;
  model: string;
  itemIds: string[];
}

/**
 * Who owns which response id, and (translated accounts, store on) what Gatehouse kept of it. Every
 * read is by owner: a row of another principal is indistinguishable from no row.
 */
export class ResponseStore {
  constructor(
    // biome-ignore lint/suspicious/noExplicitAny: only the responses table is touched.
    private readonly db: Db<any>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The caller's own, unexpired response; undefined for another's, an expired or an unknown one. */
  async owned(id: string, owner: Owner): Promise<ResponseRow | undefined> {
    const [row] = await this.db
      .select()
      .from(responses)
      .where(and(eq(responses.id, id), eq(responses.ownerId, owner.id), gt(responses.expiresAt, this.now())));
    return row?.ownerKind === owner.kind ? row : undefined;
  }

  /** The caller's unexpired responses on `account` that produced (or took as input) any of these items. */
  async withItems(ids: readonly string[], owner: Owner, account: string): Promise<ResponseRow[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .select()
      .from(responses)
      .where(
        and(
          eq(responses.ownerId, owner.id),
          eq(responses.account, account),
          arrayOverlaps(responses.itemIds, [...ids]),
          gt(responses.expiresAt, this.now()),
        ),
      );
    return rows.filter((row: ResponseRow) => row.ownerKind === owner.kind);
  }

  /** Records the owner of a response the provider keeps (again, with its items, once it is complete). */
  async recordNative(o: Ownership): Promise<void> {
    const now = this.now();
    const values = {
      id: o.id,
      ownerKind: o.owner.kind,
      ownerId: o.owner.id,
      account: o.account,
      model: o.model,
      native: true,
      itemIds: o.itemIds,
      createdAt: now,
      expiresAt: new Date(now.getTime() + NATIVE_OWNERSHIP_DAYS * DAY_MS),
    };
    // A provider id seen again (the same response, completed) updates its items but never its owner.
    await this.db
      .insert(responses)
      .values(values)
      .onConflictDoUpdate({
        target: responses.id,
        set: { itemIds: values.itemIds },
        setWhere: eq(responses.ownerId, o.owner.id),
      });
  }

  /** Keeps a response Gatehouse answered itself, for `days`. */
  async keep(
    o: Ownership & { history: unknown[]; input: unknown[]; response: Record<string, unknown> },
    days: number,
  ): Promise<void> {
    const now = this.now();
    await this.db.insert(responses).values({
      id: o.id,
      ownerKind: o.owner.kind,
      ownerId: o.owner.id,
      account: o.account,
      model: o.model,
      native: false,
      itemIds: o.itemIds,
      history: o.history,
      input: o.input,
      response: o.response,
      createdAt: now,
      expiresAt: new Date(now.getTime() + days * DAY_MS),
    });
  }

  async remove(id: string, owner: Owner): Promise<void> {
    await this.db.delete(responses).where(and(eq(responses.id, id), eq(responses.ownerId, owner.id)));
  }

  /** Deletes what has expired; answers how many rows went. */
  async purgeExpired(): Promise<number> {
    const gone = await this.db
      .delete(responses)
      .where(lte(responses.expiresAt, this.now()))
      .returning({ id: responses.id });
    return gone.length;
  }

  /** For tests and operators: how many rows exist, expired or not. */
  async count(): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)::int` }).from(responses);
    return row?.n ?? 0;
  }
}
