import { GatehouseError } from "@gatehouse/contracts";
import { and, eq, isNull, sql } from "drizzle-orm";
import type { AuthDb, AuthTx } from "../context.js";
import type { KeyRecord } from "../domain/validate.js";
import { apiKeys, outbox, users, virtualAccounts } from "./schema.js";

type Q = AuthDb | AuthTx;

/** The key and its owner, plus the auth outbox's newest sequence read in the same snapshot. */
export async function findKeyForValidation(
  db: Q,
  keyHash: string,
): Promise<{ record: KeyRecord | undefined; sequence: number }> {
  const seq = sql<number>`(select coalesce(max(${outbox.sequence}), 0) from ${outbox})`.mapWith(Number);
  const rows = await db
    .select({ key: apiKeys, user: users, va: virtualAccounts, seq })
    .from(apiKeys)
    .leftJoin(users, eq(apiKeys.userId, users.id))
    .leftJoin(virtualAccounts, eq(apiKeys.virtualAccountId, virtualAccounts.id))
    .where(eq(apiKeys.keyHash, keyHash))
    .limit(1);
  const row = rows[0];
  if (!row) {
    const only = await db.select({ seq }).from(sql`(select 1) as one`);
    return { record: undefined, sequence: only[0]?.seq ?? 0 };
  }
  const { key, user, va } = row;
  let owner: KeyRecord["owner"] | undefined;
  if (key.kind === "pat" && user) {
    owner = { kind: "user", id: user.id, name: user.name, role: user.role, status: user.status };
  } else if (key.kind === "vat" && va) {
    owner = {
      kind: "virtual_account",
      id: va.id,
      name: va.name,
      expiresAt: va.expiresAt,
      deletedAt: va.deletedAt,
    };
  }
  // A key without its owner cannot happen (foreign keys); treat it as unknown rather than crash.
  if (!owner) return { record: undefined, sequence: row.seq };
  return {
    record: { id: key.id, kind: key.kind, expiresAt: key.expiresAt, revokedAt: key.revokedAt, owner },
    sequence: row.seq,
  };
}

/** `lock`: take a row lock (inside a transaction) so concurrent changes to one user serialise. */
export async function getUser(db: Q, id: string, lock = false) {
  const query = db.select().from(users).where(eq(users.id, id)).limit(1);
  const rows = await (lock ? query.for("update") : query);
  const row = rows[0];
  if (!row) throw new GatehouseError("not_found", "no such user");
  return row;
}

export async function getLiveVirtualAccount(db: Q, id: string) {
  const rows = await db
    .select()
    .from(virtualAccounts)
    .where(and(eq(virtualAccounts.id, id), isNull(virtualAccounts.deletedAt)))
    .limit(1);
  const row = rows[0];
  if (!row) throw new GatehouseError("not_found", "no such virtual account");
  return row;
}
