import type { FastifyPluginAsync } from "fastify";
import { authorizeModel, callableModels } from "../../access/authorize.js";
import { callerOf } from "../../auth/caller.js";
import type { IngressContext } from "../../context.js";

/**
 * `GET /v1/models` in the OpenAI list format: exactly the `account/model` ids the caller may call
 * (granted, or everything for tenant admins; enabled accounts only), `owned_by` the account.
 */
export const modelsRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (app, { ctx }) => {
  app.get(
    "/v1/models",
    { onRequest: ctx.authenticate, config: { dialect: "openai" }, schema: { hide: true } },
    async (request) => {
      const models = await callableModels(ctx, callerOf(request));
      return {
        object: "list",
        data: models.map((m) => ({ id: m.id, object: "model", created: m.created, owned_by: m.account })),
      };
    },
  );

  // `client.models.retrieve(id)`: the same decision a call to the model gets (404 unknown, 403 no
  // grant or disabled). A wildcard, because model ids contain slashes, encoded by SDKs or not.
  app.get(
    "/v1/models/*",
    { onRequest: ctx.authenticate, config: { dialect: "openai" }, schema: { hide: true } },
    async (request) => {
      const id = (request.params as { "*": string })["*"];
      const target = await authorizeModel(ctx, callerOf(request), id);
      const listed = (await callableModels(ctx, callerOf(request))).find(
        (m) => m.account === target.account && m.model === target.model,
      );
      return {
        id: `${target.account}/${target.model}`,
        object: "model",
        created: listed?.created ?? 0,
        owned_by: target.account,
      };
    },
  );
};
