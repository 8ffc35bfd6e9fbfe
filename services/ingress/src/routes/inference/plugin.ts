import { type Dialect, GatehouseError, type ModelKind, type Operation } from "@gatehouse/contracts";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import secureJson from "secure-json-parse";
import type { ModelPrice } from "../../access/catalog.js";
import { type Caller, callerOf } from "../../auth/caller.js";
import type { IngressContext } from "../../context.js";
import { nestsDeeperThan, tooDeepError } from "../../http/json-body.js";
import { admit, preloadLimits } from "../../limits/admit.js";
import { labelTarget } from "../../metrics/requests.js";
import { forward, ROUTE_HEADER, type Target } from "./forward.js";
import { storedResponseRoutes } from "./responses.js";
import { checkShape } from "./shape.js";

/** Resolves `<account>/<model>` or a route name and checks the caller may use it; the only source of the target. */
export type AuthorizeModel = (
  ctx: IngressContext,
  caller: Caller,
  model: string,
) => Promise<
  Target & { kind: ModelKind; teams: readonly string[] | undefined; price?: ModelPrice | undefined }
>;

const ALLOWED_KINDS: Record<Operation | "messages", readonly ModelKind[]> = {
  chat: ["chat"],
  messages: ["chat"],
  embeddings: ["embedding"],
  // Many OpenAI-compatible servers answer legacy completions with their chat models too.
  completions: ["completion", "chat"],
  responses: ["chat"],
};

/** A model listed for one kind of call is refused for another, saying which endpoint fits. */
function checkKind(kind: ModelKind, operation: Operation | "messages", model: string): void {
  if (ALLOWED_KINDS[operation].includes(kind)) return;
  const endpoint =
    kind === "embedding"
      ? "/v1/embeddings"
      : kind === "completion"
        ? "/v1/completions"
        : "/v1/chat/completions";
  throw new GatehouseError("invalid_request", `'${model}' is a ${kind} model; call it through ${endpoint}`);
}

/**
 * The OpenAI-compatible inference endpoints and Anthropic's `/v1/messages`. Bodies are parsed once
 * (for the shape check and the model) and forwarded to dispatch as received.
 */
export function inferenceRoutes(authorizeModel: AuthorizeModel): FastifyPluginAsync<{ ctx: IngressContext }> {
  return async (app, { ctx }) => {
    preloadLimits(ctx);
    app.decorateRequest("rawBody", undefined);
    app.removeContentTypeParser("application/json");
    app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
      const buffer = body as Buffer;
      request.rawBody = buffer;
      if (nestsDeeperThan(buffer)) {
        done(tooDeepError(), undefined);
        return;
      }
      try {
        done(null, secureJson.parse(buffer, undefined, { protoAction: "error", constructorAction: "error" }));
      } catch (err) {
        // secure-json-parse throws SyntaxError for bad JSON and for __proto__/constructor keys alike.
        const forbidden = /forbidden/i.test(String((err as Error).message));
        done(
          new GatehouseError(
            "invalid_request",
            forbidden
              ? "request body contains a forbidden key (__proto__ or constructor.prototype)"
              : "request body is not valid JSON",
          ),
          undefined,
        );
      }
    });

    const handler =
      (operation: Operation | "messages", dialect: Dialect) =>
      async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
        const shape = checkShape(request.body, operation);
        const caller = callerOf(request);
        const target = await authorizeModel(ctx, caller, shape.model);
        labelTarget(ctx.metrics, request, target);
        checkKind(target.kind, operation, shape.model);
        if (operation === "responses" && target.route !== undefined) {
          // A stored response belongs to one account; a route could answer its continuation from another.
          throw new GatehouseError(
            "invalid_request",
            "the Responses API cannot be called through a route; name a '<provider-account>/<model>'",
          );
        }
        request.target = target;
        // Named on every answer from here on, a refusal by a rate limit included.
        if (target.route !== undefined) reply.header(ROUTE_HEADER, target.route);
        const admitting = admit(
          ctx,
          caller,
          target,
          request.body,
          request.rawBody?.length ?? 0,
          dialect,
          reply,
        );
        const admission = admitting instanceof Promise ? await admitting : admitting;
        return forward(
          ctx,
          request,
          reply,
          target,
          shape,
          operation === "messages" ? "chat" : operation,
          dialect,
          admission,
        );
      };

    const openai = {
      onRequest: ctx.authenticate,
      config: { dialect: "openai" as const },
      schema: { hide: true },
    };
    app.post("/v1/chat/completions", openai, handler("chat", "openai"));
    app.post("/v1/completions", openai, handler("completions", "openai"));
    app.post("/v1/embeddings", openai, handler("embeddings", "openai"));
    app.post("/v1/responses", openai, handler("responses", "openai"));
    await app.register(storedResponseRoutes(authorizeModel), { ctx });
    app.post(
      "/v1/messages",
      { onRequest: ctx.authenticate, config: { dialect: "anthropic" as const }, schema: { hide: true } },
      handler("messages", "anthropic"),
    );
  };
}
