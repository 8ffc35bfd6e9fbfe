import type { Propagation } from "@gatehouse/contracts";
import { z } from "zod";

/**
 * What a revoking admin call reports about its access event reaching the ingress replicas. The
 * call returned only after `confirmed` of `replicas` live replicas applied it, or after the lease
 * (`complete: false`), by which time an unconfirmed replica no longer trusts its cached keys.
 */
export const PropagationOut = z
  .object({
    replicas: z.number().int().describe("Live ingress replicas asked to confirm"),
    confirmed: z.number().int().describe("Replicas that confirmed they applied the revocation"),
    elapsed_ms: z.number().describe("Time from commit to the last confirmation (or the lease)"),
    complete: z.boolean().describe("False when the lease bounded the wait"),
  })
  .describe("Present when the call removed access; absent when it changed nothing");

export const Propagated = { propagation: PropagationOut.optional() };

export function propagationOut(p: Propagation | undefined): { propagation?: z.infer<typeof PropagationOut> } {
  if (!p) return {};
  return {
    propagation: {
      replicas: p.replicas,
      confirmed: p.confirmed,
      elapsed_ms: p.elapsedMs,
      complete: p.complete,
    },
  };
}

/** A revoking call's REST answer: the mapped result plus its propagation report. */
export function revokedOut<T extends { propagation?: Propagation | undefined }, U extends object>(
  map: (value: T) => U,
  value: T,
): U & { propagation?: z.infer<typeof PropagationOut> } {
  return { ...map(value), ...propagationOut(value.propagation) };
}
