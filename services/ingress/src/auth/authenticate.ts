import { GatehouseError } from "@gatehouse/contracts";
import type { preHandlerAsyncHookHandler } from "fastify";
import type { IngressContext } from "../context.js";

// Replaced by the identity work (issue 3): parse the key, validate through auth over NATS, cache.
export function createAuthenticator(_ctx: Omit<IngressContext, "authenticate">): preHandlerAsyncHookHandler {
  return async () => {
    throw new GatehouseError("service_unavailable", "authentication is not available yet");
  };
}
