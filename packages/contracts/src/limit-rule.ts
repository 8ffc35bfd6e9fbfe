import { z } from "zod";
import { Uuid } from "./common.js";

/** Who a rate limit or budget is on. */
export const LimitSubjectKind = z.enum(["user", "team", "virtual_account"]);
export type LimitSubjectKind = z.infer<typeof LimitSubjectKind>;
export const LimitSubject = z.object({ kind: LimitSubjectKind, id: Uuid });
export type LimitSubject = z.infer<typeof LimitSubject>;

/**
 * Who a rate limit is on: one subject, or (`id: null`) the default for every subject of the kind
 * that has no limit of its own with the same scope. Under a default each subject has its own
 * windows (docs/governance.md, "Defaults per subject kind").
 */
export const RateLimitSubject = z.object({ kind: LimitSubjectKind, id: Uuid.nullable() });
export type RateLimitSubject = z.infer<typeof RateLimitSubject>;

/** The most a limit may allow per minute: far above any provider, small enough to stay exact in a double. */
export const LIMIT_MAX_PER_MINUTE = 1_000_000_000;
const PerMinute = z.number().int().min(1).max(LIMIT_MAX_PER_MINUTE);

/**
 * A rate limit as every ingress replica holds it: what it is on, what it counts, and whether calls
 * pass while acl cannot be asked for a slice. Carried by the `rate_limit.changed` access event.
 */
export const RateLimitRule = z.object({
  id: Uuid,
  subject: RateLimitSubject,
  /** Only calls to this provider account (and model) count, when set. */
  account: z.string().max(128).nullable(),
  model: z.string().max(256).nullable(),
  requestsPerMinute: PerMinute.nullable(),
  tokensPerMinute: PerMinute.nullable(),
  failOpen: z.boolean(),
});
export type RateLimitRule = z.infer<typeof RateLimitRule>;
export { PerMinute as LimitPerMinute };
