import { insertAudit } from "@gatehouse/access-events";
import { type Route, route } from "@gatehouse/bus";
import {
  type Actor,
  authActorVerify,
  GatehouseError,
  refusalError,
  type VerifiedActor,
} from "@gatehouse/contracts";
import type { ActorProof } from "@gatehouse/service-host";
import type { AuthDb } from "../context.js";
import { findKeyForValidation } from "../db/queries.js";
import { auditEvents } from "../db/schema.js";
import { judgeKey } from "../domain/validate.js";

const NO_CACHE = { positiveTtlMs: 0, negativeTtlMs: 0 };

/**
 * Check an admin request's claimed actor against the key it presented, read fresh from the
 * database (never a cache: a key revoked a moment ago must not act). The claim must name the key's
 * own id and principal; the principal returned is the key's as it stands now.
 */
export async function verifyActor(db: AuthDb, actor: Actor, now: Date): Promise<VerifiedActor> {
  const { record } = await findKeyForValidation(db, actor.keyHash);
  const verdict = judgeKey(record, now, NO_CACHE);
  if (verdict.outcome !== "valid" || !record)
    throw refusalError(verdict.outcome === "valid" ? "unknown" : verdict.outcome);
  if (
    record.id !== actor.keyId ||
    verdict.principal.id !== actor.principal.id ||
    verdict.principal.kind !== actor.principal.kind
  ) {
    throw new GatehouseError("permission_denied", "the request's actor does not match the key it presented", {
      detail: "claimed actor differs from the key's owner",
    });
  }
  return { principal: verdict.principal, keyId: record.id };
}

/** Auth checks its own admin requests in its own database. */
export function localActorProof(db: AuthDb, now: () => Date): ActorProof {
  return {
    verify: (actor) => verifyActor(db, actor, now()),
    audit: (actor, entry) => insertAudit(db, auditEvents, actor, entry, now()),
  };
}

/** `auth.actor.verify`: the same check for acl and dispatch (only they may ask it). */
export function actorVerifyRoute(db: AuthDb, now: () => Date): Route {
  return route(authActorVerify, ({ actor }) => verifyActor(db, actor, now()));
}
