import { type ApiKey, type AuditEvent, MAX_GRACE_PERIOD_SECONDS } from "@gatehouse/contracts";
import { z } from "zod";
import { Id, PageQuery, snakeView, Time } from "../http.js";

/**
 * The public shapes of the identity admin API: snake_case JSON, ISO-8601 times, uuid ids. The bus
 * contracts stay camelCase; these mappers are the only place the two meet.
 */
const Name = z.string().trim().min(1).max(200);
const FutureTime = z.iso.datetime({ offset: true });

export const UserOut = z.object({
  id: Id,
  email: z.string(),
  name: z.string(),
  role: z.enum(["admin", "member"]),
  status: z.enum(["active", "deactivated"]),
  external_id: z.string().nullable(),
  created_at: Time,
  deactivated_at: Time.nullable(),
});

export const VirtualAccountOut = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  expires_at: Time.nullable(),
  created_at: Time,
  created_by: Id.nullable(),
});

export const TokenOut = z.object({
  id: Id,
  kind: z.enum(["pat", "vat"]),
  name: z.string(),
  display_hint: z.string().describe("A short hint to recognise the key; never enough to use it"),
  user_id: Id.nullable(),
  virtual_account_id: Id.nullable(),
  created_at: Time,
  created_by: Id.nullable(),
  expires_at: Time.nullable(),
  last_used_at: Time.nullable(),
  revoked_at: Time.nullable(),
  revoked_reason: z.string().nullable(),
  replaced_by: Id.nullable(),
});

export const CreatedTokenOut = TokenOut.extend({
  key: z.string().describe("The API key. Shown only in this response; store it now."),
});

export const RegeneratedTokenOut = CreatedTokenOut.extend({ previous: TokenOut });

export const RevokedCountOut = z.object({ revoked: z.number().int() });

export const AuditEventOut = z.object({
  id: Id,
  at: Time,
  actor: z.object({
    kind: z.enum(["user", "virtual_account", "system"]),
    id: Id.nullable(),
    key_id: Id.nullable(),
  }),
  action: z.string(),
  target: z.object({ kind: z.string(), id: z.string().nullable() }),
  request_id: z.string().nullable(),
  outcome: z.enum(["success", "denied"]),
  detail: z.record(z.string(), z.unknown()),
});

export const MeOut = z.object({
  principal: z.object({
    id: Id,
    kind: z.enum(["user", "virtual_account"]),
    name: z.string(),
    role: z.enum(["admin", "member"]),
  }),
  key_id: Id,
  user: UserOut.nullable(),
  virtual_account: VirtualAccountOut.nullable(),
});

export const TokenParams = z.object({ id: Id, tokenId: Id });

export const CreateUserBody = z.strictObject({
  email: z.email().max(320),
  name: Name,
  role: z.enum(["admin", "member"]).default("member"),
  external_id: z.string().min(1).max(256).optional(),
});
export const CreatePatBody = z.strictObject({
  name: Name,
  expires_at: FutureTime.optional(),
  user_id: Id.optional().describe("Admins only: create the token for this user"),
});
export const ListPatsQuery = PageQuery.extend({ user_id: Id.optional() });
export const CreateVirtualAccountBody = z.strictObject({
  name: Name,
  description: z.string().max(2_000).default(""),
  expires_at: FutureTime.optional(),
});
export const CreateVatBody = z.strictObject({ name: Name, expires_at: FutureTime.optional() });
export const RegenerateBody = z.strictObject({
  grace_period_seconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_GRACE_PERIOD_SECONDS)
    .describe("How long the old key keeps working; 0 revokes it at once"),
});

export const userOut = snakeView(UserOut);
export const virtualAccountOut = snakeView(VirtualAccountOut);
export const meOut = snakeView(MeOut);

const tokenFields = snakeView(TokenOut);

/** A key's owner is one id on the bus; the REST shape names which kind it is. */
export function tokenOut(k: ApiKey): z.input<typeof TokenOut> {
  return {
    ...tokenFields(k),
    user_id: k.kind === "pat" ? k.principalId : null,
    virtual_account_id: k.kind === "vat" ? k.principalId : null,
  };
}

export function auditOut(a: AuditEvent): z.infer<typeof AuditEventOut> {
  return {
    id: a.id,
    at: a.at,
    actor: { kind: a.actorKind, id: a.actorId, key_id: a.actorKeyId },
    action: a.action,
    target: { kind: a.targetKind, id: a.targetId },
    request_id: a.requestId,
    outcome: a.outcome,
    detail: a.detail,
  };
}
