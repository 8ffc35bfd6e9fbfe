import { type Actor, GatehouseError, type Principal } from "@gatehouse/contracts";
import type { FastifyRequest } from "fastify";

/** Who is calling, once the authentication pre-handler has accepted the request's key. */
export interface Caller {
  readonly principal: Principal;
  readonly keyId: string;
  readonly keyKind: "pat" | "vat";
  /** The presented key's SHA-256: admin requests carry it so the acting service can check the claim. */
  readonly keyHash: string;
}

declare module "fastify" {
  interface FastifyRequest {
    caller: Caller | undefined;
  }
}

/** The authenticated caller of a route registered behind `ctx.authenticate`. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new GatehouseError("missing_api_key", "this route needs an API key");
  return request.caller;
}

/** The authenticated caller as the admin endpoints of every service expect it. */
export function actorOf(request: FastifyRequest): Actor {
  const caller = callerOf(request);
  return { principal: caller.principal, keyId: caller.keyId, keyHash: caller.keyHash, requestId: request.id };
}
