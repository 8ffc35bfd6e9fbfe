import { z } from "zod";
import { PrincipalKind } from "./common.js";
import { AccountName } from "./dispatch.js";
import { defineEndpoint } from "./subjects.js";

/**
 * Stored responses of the Responses API (`/v1/responses/{id}`). dispatch records the owner of every
 * response id Gatehouse hands out; ingress asks who owns one (and on which account) before it checks
 * access, then asks dispatch to act on it. Another principal's id is answered exactly like an unknown one.
 */
export const ResponseId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, "is not a response id");

export const ResponsesAction = z.enum(["get", "delete", "input_items", "cancel"]);
export type ResponsesAction = z.infer<typeof ResponsesAction>;

const Owner = z.object({ id: z.uuid(), kind: PrincipalKind });

export const ResponseOwnerRequest = z.object({ principal: Owner, id: ResponseId });
export const ResponseOwnerReply = z.object({ account: AccountName, model: z.string().min(1).max(256) });

export const ResponseActionRequest = z.object({
  principal: Owner,
  id: ResponseId,
  /** The account ingress authorized the caller on; must be the one the response was made on. */
  account: AccountName,
  action: ResponsesAction,
  /** Query parameters (`after`, `limit`, `order`, `include`, ...); each action keeps only its own. */
  query: z.record(z.string().max(32), z.string().max(256)).default({}),
});
export type ResponseActionRequest = z.input<typeof ResponseActionRequest>;
export const ResponseActionReply = z.object({
  status: z.number().int().min(200).max(299),
  body: z.unknown(),
});

export const dispatchResponsesOwner = defineEndpoint(
  "dispatch",
  "responses.owner",
  ResponseOwnerRequest,
  ResponseOwnerReply,
);
export const dispatchResponsesAct = defineEndpoint(
  "dispatch",
  "responses.act",
  ResponseActionRequest,
  ResponseActionReply,
);
