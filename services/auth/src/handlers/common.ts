import { randomUUID } from "node:crypto";
import { type Route, route } from "@gatehouse/bus";
import { type Actor, type Endpoint, GatehouseError } from "@gatehouse/contracts";
import type { z } from "zod";
import type { AuthContext, AuthTx } from "../context.js";

import { apiKeys } from "../db/schema.js";

/**
 * An admin endpoint. Refusals (permission_denied) are audited too, outside any transaction, so an
 * admin can see who tried what; the refusal itself still reaches the caller unchanged.
 */
export function adminRoute<E extends Endpoint>(
  ctx: AuthContext,
  endpoint: E,
  handler: (request: z.output<E["request"]> & { actor: Actor }) => Promise<z.input<E["response"]>>,
): Route {
  return route(endpoint, async (request) => {
    const req = request as z.output<E["request"]> & { actor: Actor; id?: string };
    try {
      return await handler(req);
    } catch (err) {
      if (err instanceof GatehouseError && err.code === "permission_denied") {
        await ctx.changes
          .audit(
            ctx.db,
            req.actor,
            {
              action: endpoint.action.replace(/^admin\./, ""),
              targetKind: endpoint.action.split(".")[1] ?? "unknown",
              targetId: typeof req.id === "string" ? req.id : null,
              outcome: "denied",
            },
            ctx.now(),
          )
          .catch((auditErr: unknown) => ctx.logger.warn({ err: auditErr }, "could not audit a refusal"));
      }
      throw err;
    }
  });
}

/** How a key is stored: its hash and display hint. The text stays with whoever generated it. */
export interface StoredKeyForm {
  keyHash: string;
  displayHint: string;
}

/**
 * A new key's row. Auth never sees the key text of keys created over the bus: the caller generated
 * it where it is shown and sent only these forms.
 */
export async function insertKey(
  tx: AuthTx,
  values: StoredKeyForm & {
    kind: "pat" | "vat";
    name: string;
    userId?: string;
    virtualAccountId?: string;
    createdBy: string | null;
    expiresAt: Date | null;
    now: Date;
  },
) {
  // The hint says which kind of key it is; a PAT must not be stored under a VAT's hint or back.
  if (!values.displayHint.startsWith(`gatehouse_${values.kind}_`)) {
    throw new GatehouseError(
      "validation_failed",
      `invalid request: displayHint is not a ${values.kind} hint`,
    );
  }
  const rows = await tx
    .insert(apiKeys)
    .values({
      id: randomUUID(),
      kind: values.kind,
      keyHash: values.keyHash,
      displayHint: values.displayHint,
      name: values.name,
      userId: values.userId ?? null,
      virtualAccountId: values.virtualAccountId ?? null,
      createdAt: values.now,
      createdBy: values.createdBy,
      expiresAt: values.expiresAt,
    })
    .returning();
  const row = rows[0];
  if (!row) throw new Error("key insert returned no row");
  return row;
}

/** A requested expiry must be in the future. */
export function futureExpiry(expiresAt: string | undefined, now: Date): Date | null {
  if (expiresAt === undefined) return null;
  const at = new Date(expiresAt);
  if (at <= now)
    throw new GatehouseError("validation_failed", "invalid request: expires_at must be in the future");
  return at;
}

/** The id of a user actor, or null for a virtual account (created-by columns reference users). */
export function actorUserId(actor: Actor): string | null {
  return actor.principal.kind === "user" ? actor.principal.id : null;
}
