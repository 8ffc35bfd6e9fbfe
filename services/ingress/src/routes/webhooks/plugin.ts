import { authWebhooksRevocations, GatehouseError } from "@gatehouse/contracts";
import type { FastifyPluginAsync } from "fastify";
import { tooManyFailures } from "../../auth/authenticate.js";
import { clientKey, FailureLimiter } from "../../auth/failure-limiter.js";
import type { IngressContext } from "../../context.js";
import { propagationOut } from "../admin/propagation.js";
import { webhookAdminRoutes } from "../admin/webhooks/index.js";

/** Revocation webhooks are small JSON documents; anything bigger is refused before it is read whole. */
const BODY_LIMIT = 64 * 1024;

/**
 * `POST /webhooks/revocations`: no Bearer key — the Standard Webhooks signature is the credential,
 * and only auth holds the secrets. The body is kept as raw bytes (the signature covers them exactly)
 * and forwarded with the three headers; auth verifies, applies once per `webhook-id`, and answers
 * after the commit and the confirmed revoke. The body is never logged: it may carry a leaked key.
 *
 * Anyone can call it, so failed verifications draw on the client address's allowance like failed
 * keys do (its own, same settings); an address that has spent it gets 429 without reaching auth.
 */
export const webhookRoutes: FastifyPluginAsync<{ ctx: IngressContext }> = async (app, { ctx }) => {
  const limiter = new FailureLimiter(ctx.config.failedAuth);
  await app.register(async (inbound) => {
    inbound.removeAllContentTypeParsers();
    inbound.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: BODY_LIMIT }, (_req, body, done) => {
      done(null, body);
    });
    inbound.post(
      "/webhooks/revocations",
      { bodyLimit: BODY_LIMIT, schema: { hide: true } },
      async (request) => {
        const address = clientKey(request.ip);
        const wait = limiter.retryAfterSeconds(address);
        if (wait > 0) throw tooManyFailures(wait, "webhook verifications");
        const header = (name: string) => {
          const v = request.headers[name];
          return typeof v === "string" ? v : undefined;
        };
        const id = header("webhook-id");
        const timestamp = header("webhook-timestamp");
        const signature = header("webhook-signature");
        if (
          !id ||
          !timestamp ||
          !signature ||
          id.length > 256 ||
          timestamp.length > 32 ||
          signature.length > 4096
        ) {
          limiter.fail(address);
          throw new GatehouseError(
            "invalid_webhook_signature",
            "webhook-id, webhook-timestamp and webhook-signature are required",
          );
        }
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const result = await ctx.client
          .request(authWebhooksRevocations, {
            id,
            timestamp,
            signature,
            bodyBase64: body.toString("base64"),
          })
          .catch((err: unknown) => {
            if (err instanceof GatehouseError && err.code === "invalid_webhook_signature")
              limiter.fail(address);
            throw err;
          });
        if (result.duplicate) return { duplicate: true, matched: result.matched };
        return {
          matched: result.matched,
          ...propagationOut(result.propagation),
        };
      },
    );
  });
  await app.register(webhookAdminRoutes, { ctx });
};
