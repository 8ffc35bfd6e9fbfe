import { Readable } from "node:stream";
import { GatehouseError, isRouteName } from "@gatehouse/contracts";
import type { FastifyPluginAsync } from "fastify";
import { authorizeTarget, findAccount, findRoute } from "../../access/authorize.js";
import { type CallableModel, callableModels } from "../../access/listing.js";
import { type ModelRef, parseModelRef } from "../../access/model-ref.js";
import { callerOf } from "../../auth/caller.js";
import type { IngressContext } from "../../context.js";

const AFTER_MAX_CHARS = 400;

function listQuery(
  query: unknown,
  max: number,
): { limit: number; after: ModelRef | { route: string } | undefined } {
  const q = (query ?? {}) as Record<string, unknown>;
  let limit = max;
  if (q.limit !== undefined) {
    limit = typeof q.limit === "string" && /^\d{1,9}$/.test(q.limit) ? Number(q.limit) : 0;
    if (limit < 1 || limit > max) {
      throw new GatehouseError("invalid_request", `'limit' must be an integer from 1 to ${max}`);
    }
  }
  let after: ModelRef | { route: string } | undefined;
  if (q.after !== undefined) {
    after =
      typeof q.after !== "string" || q.after.length > AFTER_MAX_CHARS
        ? undefined
        : isRouteName(q.after)
          ? { route: q.after }
          : parseModelRef(q.after);
    if (!after) throw new GatehouseError("invalid_request", "'after' must be a model id from this list");
  }
  return { limit, after };
}

const json = (value: unknown) => JSON.stringify(value);

/**
 * The list body, written as the pages arrive: `{"object":"list","data":[…],"first_id","last_id",
 * "has_more"}`. At most `limit` models; one more is read to know whether more follow. `first`
 * is the first batch, already read, so an error on it was still an ordinary HTTP error.
 */
async function* listBody(
  first: IteratorResult<CallableModel[]>,
  rest: AsyncGenerator<CallableModel[]>,
  limit: number,
): AsyncGenerator<string> {
  yield '{"object":"list","data":[';
  let count = 0;
  let firstId: string | null = null;
  let lastId: string | null = null;
  let hasMore = false;
  try {
    for (let batch = first; !batch.done; batch = await rest.next()) {
      const items: string[] = [];
      for (const m of batch.value) {
        if (count === limit) {
          hasMore = true;
          break;
        }
        items.push(json({ id: m.id, object: "model", created: m.created, owned_by: m.account }));
        firstId ??= m.id;
        lastId = m.id;
        count++;
      }
      if (items.length > 0) yield `${count > items.length ? "," : ""}${items.join(",")}`;
      if (hasMore) break;
    }
  } finally {
    await rest.return(undefined);
  }
  yield `],"first_id":${json(firstId)},"last_id":${json(lastId)},"has_more":${hasMore}}`;
}

/**
 * `GET /v1/models` in the OpenAI list format: exactly the `account/model` ids the caller may call
 * (granted, or everything for tenant admins; enabled accounts only), `owned_by` the account. The
 * catalog may be of any size, so the list is streamed from bounded internal pages and holds at
 * most `MODELS_LIST_MAX` models; `?limit=` asks for fewer, `?after=<id>` continues after an id,
 * and `has_more` / `last_id` say where to go on (OpenAI's cursor-list fields; the SDK's
 * `models.list()` reads one answer and stops).
 */
export const modelsRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (app, { ctx }) => {
  app.get(
    "/v1/models",
    { onRequest: ctx.authenticate, config: { dialect: "openai" }, schema: { hide: true } },
    async (request, reply) => {
      const { limit, after } = listQuery(request.query, ctx.config.modelsListMax);
      const batches = callableModels(ctx, callerOf(request), after);
      // The first page is read before the status is sent: an outage is a clean 503, not a cut body.
      const first = await batches.next();
      // A later page that fails cuts the body short (the client sees an incomplete answer, never a
      // shorter list that looks whole).
      return reply.type("application/json").send(Readable.from(listBody(first, batches, limit)));
    },
  );

  // `client.models.retrieve(id)`: the same decision a call to the model gets (404 unknown, 403 no
  // grant or disabled). A wildcard, because model ids contain slashes, encoded by SDKs or not.
  app.get(
    "/v1/models/*",
    { onRequest: ctx.authenticate, config: { dialect: "openai" }, schema: { hide: true } },
    async (request) => {
      const id = (request.params as { "*": string })["*"];
      const target = await authorizeTarget(ctx, callerOf(request), id);
      if (target.route !== undefined) {
        const route = await findRoute(ctx, target.route);
        return { id: target.route, object: "model", created: route?.created ?? 0, owned_by: "route" };
      }
      const account = await findAccount(ctx, target.account);
      return {
        id: `${target.account}/${target.model}`,
        object: "model",
        created: account?.created ?? 0,
        owned_by: target.account,
      };
    },
  );
};
