import { GatehouseError, type Principal } from "@gatehouse/contracts";
import type { FastifyRequest } from "fastify";

/** Who is calling, once the authentication pre-handler has accepted the request's key. */
export interface Caller {
  readonly principal: Principal;
  readonly keyId: string;
  readonly keyKind: "pat" | "vat";
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
