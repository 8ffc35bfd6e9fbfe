import type { Propagation } from "@gatehouse/contracts";
import { z } from "zod";

/**
 * What a revoking admin call reports about its access event reaching the ingress replicas. The
 * call returned once every live replica applied it (`confirmed`) or stopped trusting its cache
 * until it does, or after the lease, by which time a replica that did not answer no longer trusts
 * its cache either. Either way no replica answers from a stale cache once the call has returned.
 */
export const PropagationOut = z
  .object({
    replicas: z.number().int().describe("Live ingress replicas asked to confirm"),
    confirmed: z.number().int().describe("Replicas that confirmed they applied the revocation"),
    elapsed_ms: z.number().describe("Time from commit to the last confirmation (or the lease)"),
    complete: z
      .boolean()
      .describe("True when every replica applied the change; false is still safe (see `published`)"),
    published: z
      .boolean()
      .describe(
        "False when the access event could not be written to the event stream yet (JetStream refused it): it is retried, and until replicas receive it they answer from the owning service instead of their caches",
      ),
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
      published: p.published,
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
