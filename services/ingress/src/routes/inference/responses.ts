import {
  dispatchResponsesAct,
  dispatchResponsesOwner,
  GatehouseError,
  ResponseId,
  type ResponsesAction,
} from "@gatehouse/contracts";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { callerOf } from "../../auth/caller.js";
import type { IngressContext } from "../../context.js";
import { labelTarget } from "../../metrics/requests.js";
import type { AuthorizeModel } from "./plugin.js";

/** Query parameters as strings: a repeated one (`include=a&include=b`) keeps its first value. */
function flatQuery(query: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof query !== "object" || query === null) return out;
  for (const [key, value] of Object.entries(query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === "string") out[key] = first;
  }
  return out;
}

const ITEM_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * `input_items` paging as OpenAI documents it (`limit` 1–100, `order` asc|desc, `after` an item id),
 * checked here so a bad value is a 400 naming it rather than a silent default.
 */
function checkInputItemsQuery(query: Record<string, string>): void {
  const bad = (param: string, rule: string): never => {
    throw new GatehouseError("invalid_request", `invalid query parameter '${param}': ${rule}`);
  };
  const { limit, order, after } = query;
  if (limit !== undefined && !(/^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 100))
    bad("limit", "must be an integer from 1 to 100");
  if (order !== undefined && order !== "asc" && order !== "desc") bad("order", "must be 'asc' or 'desc'");
  if (after !== undefined && !ITEM_ID.test(after)) bad("after", "must be an item id");
}

/**
 * `GET|DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`, `POST /v1/responses/{id}/cancel`.
 * dispatch says which account the caller's response lives on (another caller's id is a 404, as an
 * unknown one); access to that account is checked here as for any call; only then does dispatch act.
 */
export function storedResponseRoutes(
  authorizeModel: AuthorizeModel,
): FastifyPluginAsync<{ ctx: IngressContext }> {
  return async (app, { ctx }) => {
    const handler =
      (action: ResponsesAction) =>
      async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
        const { id } = request.params as { id: string };
        if (!ResponseId.safeParse(id).success) {
          throw new GatehouseError("not_found", "Response with this id not found.");
        }
        const query = flatQuery(request.query);
        if (action === "input_items") checkInputItemsQuery(query);
        const caller = callerOf(request);
        const principal = { id: caller.principal.id, kind: caller.principal.kind };
        const owner = await ctx.client.request(dispatchResponsesOwner, { principal, id });
        const target = await authorizeModel(ctx, caller, `${owner.account}/${owner.model}`);
        labelTarget(ctx.metrics, request, target);
        const answer = await ctx.client.request(
          dispatchResponsesAct,
          { principal, id, account: owner.account, action, query },
          { timeoutMs: ctx.config.dispatchTimeoutMs },
        );
        return reply.code(answer.status).type("application/json").send(answer.body);
      };
    const openai = {
      onRequest: ctx.authenticate,
      config: { dialect: "openai" as const },
      schema: { hide: true },
    };
    app.get("/v1/responses/:id", openai, handler("get"));
    app.delete("/v1/responses/:id", openai, handler("delete"));
    app.get("/v1/responses/:id/input_items", openai, handler("input_items"));
    app.post("/v1/responses/:id/cancel", openai, handler("cancel"));
  };
}
