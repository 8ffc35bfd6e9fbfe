import { z } from "zod";
import { Empty, HealthResponse, Principal } from "./common.js";
import { defineEndpoint } from "./subjects.js";

export const KeyKind = z.enum(["pat", "vat"]);
export type KeyKind = z.infer<typeof KeyKind>;

/** SHA-256 of the full key text, lowercase hex. The key itself never crosses the bus. */
export const KeyHash = z.string().regex(/^[0-9a-f]{64}$/);

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
