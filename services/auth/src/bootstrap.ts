import { randomUUID } from "node:crypto";
import { insertAudit } from "@gatehouse/access-events";
import { displayHint, generateKey, hashKey } from "@gatehouse/keys";
import { sql } from "drizzle-orm";
import type { AuthDb } from "./context.js";
import { auditEvents, users } from "./db/schema.js";
import { insertKey } from "./handlers/common.js";

export interface BootstrapResult {
  email: string;
  /** Set only when the key was generated here (it must then be shown to the operator once). */
  generatedKey: string | undefined;
}

/**
 * First start with an empty users table: one admin and one PAT, so whoever installed Gatehouse can
 * act at once. Replicas starting together serialise on an advisory lock; the second one finds the
 * admin already there and does nothing.
 */
export async function bootstrapAdmin(
  db: AuthDb,
  options: { email: string; key: string | undefined; now: Date },
): Promise<BootstrapResult | undefined> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('gatehouse.auth.bootstrap'))`);
    const existing = await tx.select({ id: users.id }).from(users).limit(1);
    if (existing.length > 0) return undefined;
    const id = randomUUID();
    await tx.insert(users).values({
      id,
      email: options.email,
      name: "Administrator",
      role: "admin",
      status: "active",
      externalId: null,
      createdAt: options.now,
    });
    // Generated and printed here, never sent anywhere: the one key auth ever holds as text.
    const key = options.key ?? generateKey("pat");
    const row = await insertKey(tx, {
      kind: "pat",
      name: "bootstrap",
      userId: id,
      createdBy: null,
      expiresAt: null,
      now: options.now,
      keyHash: hashKey(key),
      displayHint: displayHint(key),
    });
    await insertAudit(
      tx,
      auditEvents,
      "system",
      {
        action: "bootstrap",
        targetKind: "user",
        targetId: id,
        detail: { email: options.email, keyId: row.id },
      },
      options.now,
    );
    return { email: options.email, generatedKey: options.key === undefined ? key : undefined };
  });
}
