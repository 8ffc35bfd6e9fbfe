import { z } from "zod";

/**
 * Access events: every change that removes access. Each carries the outbox sequence it was
 * committed with, so followers can detect gaps.
 */
const base = { sequence: z.number().int().min(1), at: z.string() };

export const AccessEvent = z.discriminatedUnion("type", [
  z.object({ ...base, type: z.literal("key.revoked"), keyId: z.uuid(), keyHash: z.string() }),
  z.object({ ...base, type: z.literal("user.deactivated"), userId: z.uuid() }),
  z.object({ ...base, type: z.literal("user.keys_revoked"), userId: z.uuid() }),
  z.object({ ...base, type: z.literal("keys.all_revoked") }),
  z.object({ ...base, type: z.literal("virtual_account.deleted"), virtualAccountId: z.uuid() }),
]);
export type AccessEvent = z.infer<typeof AccessEvent>;
export type AccessEventType = AccessEvent["type"];
