import { z } from "zod";
import {
  Actor,
  AuditPage,
  Empty,
  HealthResponse,
  IsoDateTime,
  KeyHash,
  ListRequest,
  Page,
  Principal,
  pageOf,
  UserRole,
  Uuid,
} from "./common.js";
import { type ErrorCode, GatehouseError } from "./errors.js";
import { Propagated } from "./events.js";
import { defineEndpoint } from "./subjects.js";

export const KeyKind = z.enum(["pat", "vat"]);
export type KeyKind = z.infer<typeof KeyKind>;

export const ValidateRequest = z.object({ keyHash: KeyHash });
export type ValidateRequest = z.infer<typeof ValidateRequest>;

export const ValidateRefusal = z.enum([
  "unknown",
  "expired",
  "revoked",
  "principal_deactivated",
  "virtual_account_expired",
]);
export type ValidateRefusal = z.infer<typeof ValidateRefusal>;

const REFUSALS: Record<ValidateRefusal, { code: ErrorCode; message: string }> = {
  unknown: { code: "invalid_api_key", message: "the API key is not valid" },
  expired: { code: "api_key_expired", message: "the API key has expired" },
  revoked: { code: "api_key_revoked", message: "the API key has been revoked" },
  principal_deactivated: { code: "principal_deactivated", message: "the key's user is deactivated" },
  virtual_account_expired: {
    code: "virtual_account_expired",
    message: "the key's virtual account has expired",
  },
};

/** The error a caller gets for a key auth refused, the same wherever the refusal is raised. */
export function refusalError(outcome: ValidateRefusal): GatehouseError {
  const refusal = REFUSALS[outcome];
  return new GatehouseError(refusal.code, refusal.message);
}

export const ValidateResponse = z.discriminatedUnion("outcome", [
  z.object({
    outcome: z.literal("valid"),
    principal: Principal,
    key: z.object({ id: z.uuid(), kind: KeyKind, expiresAt: z.string().nullable() }),
    /** How long ingress may cache this answer; never past the key's expiry. */
    cacheTtlMs: z.number().int().min(0),
    /** Access-event sequence the answer was read at (see the revocation design). */
    asOfSequence: z.number().int().min(0),
  }),
  z.object({
    outcome: ValidateRefusal,
    cacheTtlMs: z.number().int().min(0),
    asOfSequence: z.number().int().min(0),
  }),
]);
export type ValidateResponse = z.infer<typeof ValidateResponse>;

export const authValidate = defineEndpoint("auth", "validate", ValidateRequest, ValidateResponse);
export const authHealth = defineEndpoint("auth", "health", Empty, HealthResponse);

/** Who the actor's key speaks for now: the principal a service acts as once the claim is checked. */
export const VerifiedActor = z.object({ principal: Principal, keyId: Uuid });
export type VerifiedActor = z.infer<typeof VerifiedActor>;

/**
 * `auth.actor.verify`: acl and dispatch check an admin request's actor before acting. A key that is
 * not valid answers its refusal (`invalid_api_key`, `api_key_revoked`, …); a valid key that belongs
 * to someone other than the claimed principal answers `permission_denied`.
 */
export const authActorVerify = defineEndpoint(
  "auth",
  "actor.verify",
  z.object({ actor: Actor }),
  VerifiedActor,
);

// ---------------------------------------------------------------------------------------------
// Admin endpoints. Every request carries the authenticated `Actor`; the auth service decides what
// the actor may do (members: read themselves, manage their own PATs; everything else: admin) and
// answers `permission_denied` / `not_found` / `conflict` as service errors.
// ---------------------------------------------------------------------------------------------

export const UserStatus = z.enum(["active", "deactivated"]);
export type UserStatus = z.infer<typeof UserStatus>;

export const User = z.object({
  id: Uuid,
  email: z.string(),
  name: z.string(),
  role: UserRole,
  status: UserStatus,
  externalId: z.string().nullable(),
  createdAt: IsoDateTime,
  deactivatedAt: IsoDateTime.nullable(),
});
export type User = z.infer<typeof User>;

export const VirtualAccount = z.object({
  id: Uuid,
  name: z.string(),
  description: z.string(),
  expiresAt: IsoDateTime.nullable(),
  createdAt: IsoDateTime,
  createdBy: Uuid.nullable(),
});
export type VirtualAccount = z.infer<typeof VirtualAccount>;

/** A key as lists show it: never the key, never its hash. */
export const ApiKey = z.object({
  id: Uuid,
  kind: KeyKind,
  /** The user (pat) or virtual account (vat) the key speaks for. */
  principalId: Uuid,
  name: z.string(),
  displayHint: z.string(),
  createdAt: IsoDateTime,
  createdBy: Uuid.nullable(),
  expiresAt: IsoDateTime.nullable(),
  lastUsedAt: IsoDateTime.nullable(),
  revokedAt: IsoDateTime.nullable(),
  revokedReason: z.string().nullable(),
  /** Set on a VAT that was regenerated: the key that replaced it. */
  replacedBy: Uuid.nullable(),
});
export type ApiKey = z.infer<typeof ApiKey>;

/**
 * A new key as the caller who made it gave it to auth: only its hash and display hint. The key text
 * is generated where it is shown (ingress) and never crosses the bus.
 */
export const NewKey = {
  keyHash: KeyHash,
  displayHint: z.string().regex(/^gatehouse_(pat|vat)_[0-9A-Za-z]{4}…[0-9A-Za-z]{4}$/),
};

/** The answer to a key creation: the stored key, never its text. */
export const CreatedKey = z.object({ apiKey: ApiKey });
export type CreatedKey = z.infer<typeof CreatedKey>;

const Name = z.string().trim().min(1).max(200);
const FutureTime = IsoDateTime;
/** Regenerate may keep the old VAT alive at most this long. */
export const MAX_GRACE_PERIOD_SECONDS = 30 * 24 * 3600;

export const MeResponse = z.object({
  principal: Principal,
  keyId: Uuid,
  user: User.nullable(),
  virtualAccount: VirtualAccount.nullable(),
});
export type MeResponse = z.infer<typeof MeResponse>;

export const CreateUserRequest = z.object({
  actor: Actor,
  email: z.email().max(320),
  name: Name,
  role: UserRole.default("member"),
  externalId: z.string().min(1).max(256).optional(),
});
export const IdRequest = z.object({ actor: Actor, id: Uuid });
export const CountResponse = z.object({ revoked: z.number().int().min(0) });

/** Revoking calls answer with how their access event reached the ingress replicas. */
export const RevokedKey = ApiKey.extend(Propagated);
export const RevokedCount = CountResponse.extend(Propagated);

export const CreatePatRequest = z.object({
  actor: Actor,
  /** Admins may create a PAT for another user; members only for themselves. */
  userId: Uuid.optional(),
  name: Name,
  expiresAt: FutureTime.optional(),
  ...NewKey,
});
export const ListPatsRequest = z.object({ actor: Actor, userId: Uuid.optional(), ...Page });

export const CreateVirtualAccountRequest = z.object({
  actor: Actor,
  name: Name,
  description: z.string().max(2_000).default(""),
  expiresAt: FutureTime.optional(),
});

export const CreateVatRequest = z.object({
  actor: Actor,
  virtualAccountId: Uuid,
  name: Name,
  expiresAt: FutureTime.optional(),
  ...NewKey,
});
export const ListVatsRequest = z.object({ actor: Actor, virtualAccountId: Uuid, ...Page });
export const VatRequest = z.object({ actor: Actor, virtualAccountId: Uuid, tokenId: Uuid });
export const RegenerateVatRequest = VatRequest.extend({
  gracePeriodSeconds: z.number().int().min(0).max(MAX_GRACE_PERIOD_SECONDS),
  /** The replacement key, generated by the caller. */
  ...NewKey,
});
export const RegenerateVatResponse = z.object({
  apiKey: ApiKey,
  previous: ApiKey,
  /** Present when the grace period was 0 and the old key was revoked at once. */
  ...Propagated,
});

export const authAdminMe = defineEndpoint("auth", "admin.me", z.object({ actor: Actor }), MeResponse);
export const authAdminUsersCreate = defineEndpoint("auth", "admin.users.create", CreateUserRequest, User);
export const authAdminUsersList = defineEndpoint("auth", "admin.users.list", ListRequest, pageOf(User));
export const authAdminUsersGet = defineEndpoint("auth", "admin.users.get", IdRequest, User);
export const authAdminUsersDeactivate = defineEndpoint(
  "auth",
  "admin.users.deactivate",
  IdRequest,
  User.extend(Propagated),
);
export const authAdminUsersReactivate = defineEndpoint("auth", "admin.users.reactivate", IdRequest, User);

export const authAdminPatsCreate = defineEndpoint("auth", "admin.pats.create", CreatePatRequest, CreatedKey);
export const authAdminPatsList = defineEndpoint("auth", "admin.pats.list", ListPatsRequest, pageOf(ApiKey));
export const authAdminPatsRevoke = defineEndpoint("auth", "admin.pats.revoke", IdRequest, RevokedKey);
export const authAdminPatsRevokeAllForUser = defineEndpoint(
  "auth",
  "admin.pats.revoke_all_for_user",
  IdRequest,
  RevokedCount,
);
export const authAdminPatsRevokeAll = defineEndpoint(
  "auth",
  "admin.pats.revoke_all",
  z.object({ actor: Actor }),
  RevokedCount,
);

export const authAdminVirtualAccountsCreate = defineEndpoint(
  "auth",
  "admin.virtual_accounts.create",
  CreateVirtualAccountRequest,
  VirtualAccount,
);
export const authAdminVirtualAccountsList = defineEndpoint(
  "auth",
  "admin.virtual_accounts.list",
  ListRequest,
  pageOf(VirtualAccount),
);
export const authAdminVirtualAccountsGet = defineEndpoint(
  "auth",
  "admin.virtual_accounts.get",
  IdRequest,
  VirtualAccount,
);
export const authAdminVirtualAccountsDelete = defineEndpoint(
  "auth",
  "admin.virtual_accounts.delete",
  IdRequest,
  VirtualAccount.extend(Propagated),
);

export const authAdminVatsCreate = defineEndpoint("auth", "admin.vats.create", CreateVatRequest, CreatedKey);
export const authAdminVatsList = defineEndpoint("auth", "admin.vats.list", ListVatsRequest, pageOf(ApiKey));
export const authAdminVatsRegenerate = defineEndpoint(
  "auth",
  "admin.vats.regenerate",
  RegenerateVatRequest,
  RegenerateVatResponse,
);
export const authAdminVatsRevoke = defineEndpoint("auth", "admin.vats.revoke", VatRequest, RevokedKey);

export const authAdminAuditList = defineEndpoint("auth", "admin.audit.list", ListRequest, AuditPage);
