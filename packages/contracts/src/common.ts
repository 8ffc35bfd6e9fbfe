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

export const PageQuery = z.object({
  limit: z.number().int().min(1).max(200).default(50),
  /** Opaque cursor from the previous page's `nextCursor`. */
  cursor: z.string().max(512).optional(),
});
export type PageQuery = z.infer<typeof PageQuery>;

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

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
