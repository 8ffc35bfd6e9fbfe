import {
  authAdminPatsCreate,
  authAdminPatsList,
  authAdminPatsRevoke,
  authAdminPatsRevokeAll,
  authAdminPatsRevokeAllForUser,
  authAdminVatsCreate,
  authAdminVatsList,
  authAdminVatsRegenerate,
  authAdminVatsRevoke,
} from "@gatehouse/contracts";
import { mintKey } from "@gatehouse/keys";
import { actorOf } from "../../../auth/caller.js";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, IdParams, snakeView, type ZodApp } from "../http.js";
import { Propagated, propagationOut, revokedOut } from "../propagation.js";
import {
  CreatedTokenOut,
  CreatePatBody,
  CreateVatBody,
  ListPatsQuery,
  RegenerateBody,
  RegeneratedTokenOut,
  RevokedCountOut,
  TokenOut,
  TokenParams,
  tokenOut,
} from "./views.js";

const Revoked = TokenOut.extend(Propagated);
const RevokedCount = RevokedCountOut.extend(Propagated);

export function tokenRoutes(app: ZodApp, ctx: IngressContext): void {
  const pats = ["personal access tokens"];
  const vats = ["virtual account tokens"];

  app.post(
    "/api/v1/personal-access-tokens",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: pats,
        summary: "Create a personal access token (for yourself; admins for anyone)",
        body: CreatePatBody,
        response: { 201: CreatedTokenOut },
      },
    },
    async (request, reply) => {
      const { name, expires_at, user_id } = request.body;
      // Generated here, where it is shown: auth gets only the hash and hint, the bus never the key.
      const { key, keyHash, displayHint } = mintKey("pat");
      const created = await ctx.client.request(authAdminPatsCreate, {
        actor: actorOf(request),
        name,
        keyHash,
        displayHint,
        ...(expires_at === undefined ? {} : { expiresAt: expires_at }),
        ...(user_id === undefined ? {} : { userId: user_id }),
      });
      return reply.code(201).send({ ...tokenOut(created.apiKey), key });
    },
  );

  adminList(app, ctx, {
    url: "/api/v1/personal-access-tokens",
    tags: pats,
    summary: "List personal access tokens (yours; admins may pass user_id)",
    querystring: ListPatsQuery,
    item: TokenOut,
    endpoint: authAdminPatsList,
    request: ({ query }) => (query.user_id === undefined ? {} : { userId: query.user_id }),
    view: tokenOut,
  });

  adminRoute(app, ctx, {
    method: "DELETE",
    url: "/api/v1/personal-access-tokens/:id",
    tags: pats,
    summary: "Revoke a personal access token (your own; admins any)",
    params: IdParams,
    response: Revoked,
    endpoint: authAdminPatsRevoke,
    request: ({ params }) => ({ id: params.id }),
    view: (answer) => revokedOut(tokenOut, answer),
  });

  adminRoute(app, ctx, {
    method: "POST",
    url: "/api/v1/users/:id/personal-access-tokens/revoke-all",
    tags: pats,
    summary: "Revoke every personal access token of a user (admin)",
    params: IdParams,
    response: RevokedCount,
    endpoint: authAdminPatsRevokeAllForUser,
    request: ({ params }) => ({ id: params.id }),
    view: snakeView(RevokedCount),
  });

  adminRoute(app, ctx, {
    method: "POST",
    url: "/api/v1/personal-access-tokens/revoke-all",
    tags: pats,
    summary: "Revoke every personal access token in the organisation, the caller's included (admin)",
    response: RevokedCount,
    endpoint: authAdminPatsRevokeAll,
    view: snakeView(RevokedCount),
  });

  app.post(
    "/api/v1/virtual-accounts/:id/tokens",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: vats,
        summary: "Create a token for a virtual account (admin)",
        params: IdParams,
        body: CreateVatBody,
        response: { 201: CreatedTokenOut },
      },
    },
    async (request, reply) => {
      const { name, expires_at } = request.body;
      const { key, keyHash, displayHint } = mintKey("vat");
      const created = await ctx.client.request(authAdminVatsCreate, {
        actor: actorOf(request),
        virtualAccountId: request.params.id,
        name,
        keyHash,
        displayHint,
        ...(expires_at === undefined ? {} : { expiresAt: expires_at }),
      });
      return reply.code(201).send({ ...tokenOut(created.apiKey), key });
    },
  );

  adminList(app, ctx, {
    url: "/api/v1/virtual-accounts/:id/tokens",
    tags: vats,
    summary: "List a virtual account's tokens (admin)",
    params: IdParams,
    item: TokenOut,
    endpoint: authAdminVatsList,
    request: ({ params }) => ({ virtualAccountId: params.id }),
    view: tokenOut,
  });

  app.post(
    "/api/v1/virtual-accounts/:id/tokens/:tokenId/regenerate",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: vats,
        summary: "Issue a new key; the old one keeps working for the grace period (admin)",
        params: TokenParams,
        body: RegenerateBody,
        response: { 200: RegeneratedTokenOut.extend(Propagated) },
      },
    },
    async (request) => {
      const { key, keyHash, displayHint } = mintKey("vat");
      const r = await ctx.client.request(authAdminVatsRegenerate, {
        actor: actorOf(request),
        virtualAccountId: request.params.id,
        tokenId: request.params.tokenId,
        gracePeriodSeconds: request.body.grace_period_seconds,
        keyHash,
        displayHint,
      });
      return {
        ...tokenOut(r.apiKey),
        key,
        previous: tokenOut(r.previous),
        ...propagationOut(r.propagation),
      };
    },
  );

  adminRoute(app, ctx, {
    method: "DELETE",
    url: "/api/v1/virtual-accounts/:id/tokens/:tokenId",
    tags: vats,
    summary: "Revoke a virtual account token at once (admin)",
    params: TokenParams,
    response: Revoked,
    endpoint: authAdminVatsRevoke,
    request: ({ params }) => ({ virtualAccountId: params.id, tokenId: params.tokenId }),
    view: (answer) => revokedOut(tokenOut, answer),
  });
}
