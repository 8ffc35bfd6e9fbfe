import { type Route, route } from "@gatehouse/bus";
import { authValidate, type ValidateResponse } from "@gatehouse/contracts";
import type { AuthContext } from "../context.js";
import { findKeyForValidation } from "../db/queries.js";
import { judgeKey } from "../domain/validate.js";

/** `auth.validate`: one indexed read; the last-used time is recorded in memory, written later. */
export function validateRoute(ctx: AuthContext): Route {
  return route(authValidate, async ({ keyHash }): Promise<ValidateResponse> => {
    const now = ctx.now();
    const { record, sequence } = await findKeyForValidation(ctx.db, keyHash);
    const verdict = judgeKey(record, now, {
      positiveTtlMs: ctx.config.validateCacheTtlMs,
      negativeTtlMs: ctx.config.negativeCacheTtlMs,
    });
    if (verdict.outcome !== "valid") {
      return { outcome: verdict.outcome, cacheTtlMs: verdict.cacheTtlMs, asOfSequence: sequence };
    }
    // judgeKey only says "valid" for a record it was given.
    if (!record) throw new Error("valid verdict without a key record");
    ctx.lastUsed.record(record.id, now);
    return {
      outcome: "valid",
      principal: verdict.principal,
      key: { id: record.id, kind: record.kind, expiresAt: record.expiresAt?.toISOString() ?? null },
      cacheTtlMs: verdict.cacheTtlMs,
      asOfSequence: sequence,
    };
  });
}
