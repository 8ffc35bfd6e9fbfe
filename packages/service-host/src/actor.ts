import type { BusClient, RawRoute, Route } from "@gatehouse/bus";
import { type Actor, authActorVerify, GatehouseError, type VerifiedActor } from "@gatehouse/contracts";
import type { Logger } from "@gatehouse/kit";

/** An audit row for a refused claim, in the shape every service's audit log takes. */
export interface RefusedActorEntry {
  action: string;
  targetKind: "request";
  targetId: null;
  outcome: "denied";
  detail: { refused: string };
}

/** How a service checks the actor of its admin requests. */
export interface ActorProof {
  /**
   * The principal the actor's key hash belongs to now. Throws the refusal when the key is not valid
   * (`invalid_api_key`, `api_key_revoked`, …) or belongs to someone else (`permission_denied`).
   */
  verify(actor: Actor): Promise<VerifiedActor>;
  /** Write the refused attempt to this service's audit log. */
  audit(actor: Actor, entry: RefusedActorEntry): Promise<void>;
}

/** acl and dispatch: ask auth, which holds the keys (one extra round trip, admin calls only). */
export function actorProofFromAuth(client: BusClient, audit: ActorProof["audit"]): ActorProof {
  return { verify: (actor) => client.request(authActorVerify, { actor }), audit };
}

/**
 * Every `admin.*` route of a service goes through here before its handler (see `proveActor`).
 */
export function proveActors(
  routes: Array<Route | RawRoute>,
  proof: ActorProof,
  logger: Logger,
): Array<Route | RawRoute> {
  return routes.map((r) =>
    "raw" in r || !r.endpoint.action.startsWith("admin.") ? r : proveActor(r, proof, logger),
  );
}

/**
 * The claimed actor is checked against its key hash and the handler sees the principal the key
 * belongs to now (a role changed since ingress cached it counts as changed). A refused claim is
 * audited as `denied` and answered with its refusal; an outage of the check answers as an outage,
 * never as a yes. `proveActors` applies it to every `admin.*` route; a service applies it itself to
 * a route outside `admin.*` that acts for, or records, an actor (acl's `grants.clear`).
 */
export function proveActor(r: Route, proof: ActorProof, logger: Logger): Route {
  const action = r.endpoint.action.replace(/^admin\./, "");
  return {
    endpoint: r.endpoint,
    handler: async (request, ctx) => {
      const claimed = (request as { actor?: Actor }).actor;
      // Every admin contract requires an actor; a route without one must not act for anybody.
      if (!claimed) throw new GatehouseError("permission_denied", "an admin request needs an actor");
      let verified: VerifiedActor;
      try {
        verified = await proof.verify(claimed);
      } catch (err) {
        const status = err instanceof GatehouseError ? err.spec.status : 500;
        if (status === 401 || status === 403) {
          const entry: RefusedActorEntry = {
            action,
            targetKind: "request",
            targetId: null,
            outcome: "denied",
            detail: { refused: (err as GatehouseError).code },
          };
          await proof
            .audit(claimed, entry)
            .catch((auditErr: unknown) => logger.warn({ err: auditErr }, "could not audit a refused actor"));
        }
        throw err;
      }
      const actor: Actor = { ...claimed, principal: verified.principal };
      return r.handler({ ...(request as object), actor } as typeof request, ctx);
    },
  };
}
