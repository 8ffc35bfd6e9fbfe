import { z } from "zod";
import { IsoDateTime } from "./common.js";
import { BudgetRule, RateLimitRule } from "./limit-rule.js";

/**
 * Access events: every change that removes access. A service commits each one together with the
 * change, in its outbox, under a per-source sequence with no gaps; the relay publishes them to the
 * access-event stream. Followers track the last sequence per source and resync on a gap.
 */
export const EventSource = z.enum(["auth", "acl", "dispatch"]);
export type EventSource = z.infer<typeof EventSource>;

const SubjectRef = z.object({ kind: z.enum(["user", "team", "virtual_account"]), id: z.uuid() });

const BudgetCrossing = { budget: BudgetRule, periodStart: IsoDateTime, spentUsd: z.number().min(0) };

export const AccessEventBody = z.discriminatedUnion("type", [
  // auth
  z.object({ type: z.literal("key.revoked"), keyId: z.uuid(), keyHash: z.string(), reason: z.string() }),
  // A key's life was shortened (a VAT regenerated with a grace period): caches drop what they hold
  // for it, so no answer cached under the old expiry outlives the new one. Never the key itself.
  z.object({
    type: z.literal("key.expiry_shortened"),
    keyId: z.uuid(),
    keyHash: z.string(),
    expiresAt: IsoDateTime,
  }),
  z.object({ type: z.literal("user.deactivated"), userId: z.uuid() }),
  z.object({ type: z.literal("user.keys_revoked"), userId: z.uuid() }),
  z.object({ type: z.literal("keys.all_revoked") }),
  z.object({ type: z.literal("virtual_account.deleted"), virtualAccountId: z.uuid() }),
  // acl
  z.object({ type: z.literal("grant.removed"), subject: SubjectRef, account: z.string() }),
  z.object({ type: z.literal("team_member.removed"), teamId: z.uuid(), userId: z.uuid() }),
  z.object({ type: z.literal("team.deleted"), teamId: z.uuid() }),
  z.object({ type: z.literal("route_grant.removed"), subject: SubjectRef, route: z.string() }),
  // Not a loss of access, but it must reach every replica the same way: a replica enforces the
  // limits it holds, and a deleted one must stop limiting (docs/governance.md).
  z.object({ type: z.literal("rate_limit.changed"), limit: RateLimitRule }),
  z.object({ type: z.literal("rate_limit.deleted"), limitId: z.uuid() }),
  z.object({ type: z.literal("budget.changed"), budget: BudgetRule }),
  z.object({ type: z.literal("budget.deleted"), budgetId: z.uuid() }),
  // A budget's period crossed 80 % or 100 % of its spend (once per period each): announced as
  // outbound webhooks by auth; replicas ignore them.
  z.object({ type: z.literal("budget.threshold"), ...BudgetCrossing }),
  z.object({ type: z.literal("budget.exhausted"), ...BudgetCrossing }),
  // dispatch
  z.object({ type: z.literal("account.disabled"), account: z.string() }),
  z.object({ type: z.literal("account.deleted"), account: z.string() }),
  // A route's targets or settings changed (dispatch replicas reload it) or it is gone.
  z.object({ type: z.literal("route.updated"), route: z.string() }),
  z.object({ type: z.literal("route.deleted"), route: z.string() }),
]);
export type AccessEventBody = z.infer<typeof AccessEventBody>;
export type AccessEventType = AccessEventBody["type"];

export const AccessEventEnvelope = z.object({
  source: EventSource,
  sequence: z.number().int().min(1),
  at: z.string(),
  event: AccessEventBody,
});
export type AccessEventEnvelope = z.infer<typeof AccessEventEnvelope>;

/**
 * Published on core NATS by every outbox relay each poll — also when it cannot publish to the
 * stream: the newest sequence its service has committed, and how much of that the stream holds. A
 * follower that has not heard every source within its lease, or lacks a committed event the stream
 * does not hold, or stays behind a published one, stops trusting cached positives.
 */
export const FeedHeartbeat = z.object({
  source: EventSource,
  committedSequence: z.number().int().min(0),
  /**
   * Every event up to here is in the stream; below `committedSequence` when the relay could not
   * publish. Absent from relays that predate it, which heartbeat only after publishing everything.
   */
  publishedSequence: z.number().int().min(0).optional(),
  at: z.string(),
});
export type FeedHeartbeat = z.infer<typeof FeedHeartbeat>;

/** Ingress replicas announce themselves so a revoke knows how many confirmations to wait for. */
export const IngressPresence = z.object({ replica: z.string(), at: z.string() });
export type IngressPresence = z.infer<typeof IngressPresence>;

/**
 * Asked of every ingress replica after a revoke. A replica answers once it applied this source's
 * sequence (`applied: true`) or once it stopped trusting cached positives until it does (`false`).
 */
export const SyncRequest = z.object({
  source: EventSource,
  sequence: z.number().int().min(1),
  /** False when the event could not be written to the stream yet: replicas stop trusting at once. */
  published: z.boolean().default(true),
});
export type SyncRequest = z.infer<typeof SyncRequest>;
export const SyncResponse = z.object({ replica: z.string(), applied: z.boolean(), waitedMs: z.number() });
export type SyncResponse = z.infer<typeof SyncResponse>;

/** What a revoking call reports about propagation to ingress replicas. */
export const Propagation = z.object({
  sequence: z.number().int().min(1),
  replicas: z.number().int().min(0),
  confirmed: z.number().int().min(0),
  elapsedMs: z.number(),
  /** True when every live replica confirmed it applied the event. */
  complete: z.boolean(),
  /**
   * False when the event is not in the stream yet (JetStream refused it): the relay keeps trying,
   * and every replica that has not applied it answers from the owning service, not its cache.
   */
  published: z.boolean(),
});
export type Propagation = z.infer<typeof Propagation>;

/**
 * Spread into a revoking call's response: how its access event reached the ingress replicas. Absent
 * when the call changed nothing (e.g. revoking an already revoked key) and so emitted no event.
 */
export const Propagated = { propagation: Propagation.optional() };
