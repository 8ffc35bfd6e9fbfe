import { z } from "zod";

export const Uuid = z.uuid();
export const IsoDateTime = z.iso.datetime({ offset: true });

export const PrincipalKind = z.enum(["user", "virtual_account"]);
export type PrincipalKind = z.infer<typeof PrincipalKind>;

export const UserRole = z.enum(["admin", "member"]);
export type UserRole = z.infer<typeof UserRole>;

/** Who a valid key speaks for. Virtual accounts are always `member`. */
export const Principal = z.object({
  id: Uuid,
  kind: PrincipalKind,
  name: z.string(),
  role: UserRole,
});
export type Principal = z.infer<typeof Principal>;

/** SHA-256 of the full key text, lowercase hex. The key itself never crosses the bus. */
export const KeyHash = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * The caller of an admin endpoint, as ingress authenticated it. A claim, not a proof: the service
 * that acts re-checks `keyHash` (auth itself, acl and dispatch through `auth.actor.verify`) and acts
 * as the principal that key belongs to now.
 */
export const Actor = z.object({
  principal: Principal,
  keyId: Uuid,
  /** The hash of the key the caller presented: what makes the claim checkable. */
  keyHash: KeyHash,
  requestId: z.string().max(128),
});
export type Actor = z.infer<typeof Actor>;

/** The paging fields of every admin list request (keyset paging: the cursor is opaque). */
export const Page = {
  limit: z.number().int().min(1).max(200).default(50),
  /** Opaque cursor from the previous page's `nextCursor`. */
  cursor: z.string().max(512).optional(),
};
export const PageQuery = z.object(Page);
export type PageQuery = z.infer<typeof PageQuery>;

/** One page of an admin list: its items and where the next page starts (null on the last). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

/** An admin list request with nothing to filter on: who asks, and which page. */
export const ListRequest = z.object({ actor: Actor, ...Page });
export type ListRequest = z.input<typeof ListRequest>;

export const AuditOutcome = z.enum(["success", "denied"]);

/**
 * One row of an audit log. Every service that changes state keeps one of its own (auth: identity,
 * acl: grants and teams, dispatch: provider accounts), all in this shape.
 */
export const AuditEvent = z.object({
  id: Uuid,
  at: IsoDateTime,
  actorKind: z.enum(["user", "virtual_account", "system"]),
  actorId: Uuid.nullable(),
  actorKeyId: Uuid.nullable(),
  action: z.string(),
  targetKind: z.string(),
  targetId: z.string().nullable(),
  requestId: z.string().nullable(),
  outcome: AuditOutcome,
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEvent = z.infer<typeof AuditEvent>;
export const AuditPage = pageOf(AuditEvent);
export type AuditPage = z.infer<typeof AuditPage>;

/** Health answer every bus service gives on `<prefix>.v1.<service>.health`. */
export const HealthResponse = z.object({
  service: z.string(),
  version: z.string(),
  instance: z.string(),
  database: z.enum(["ok", "error", "none"]),
});
export type HealthResponse = z.infer<typeof HealthResponse>;

export const Empty = z.object({}).strict();

/** Wire envelope for an error reply (the `Nats-Service-Error*` headers carry status and code too). */
export const ErrorReply = z.object({
  code: z.string(),
  message: z.string(),
  retryAfterSeconds: z.number().optional(),
});
export type ErrorReply = z.infer<typeof ErrorReply>;
