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
import type { IngressContext } from "../../../context.js";
import { Propagated, propagationOut, revokedOut } from "../propagation.js";
import type { ZodApp } from "./index.js";
import {
  actorOf,
  CreatedTokenOut,
  CreatePatBody,
  CreateVatBody,
  IdParams,
  ListPatsQuery,
  listOf,
  PageQuery,
  page,
  pageArgs,
  RegenerateBody,
  RegeneratedTokenOut,
  RevokedCountOut,
  TokenOut,
  TokenParams,
  tokenOut,
} from "./views.js";

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

  app.get(
    "/api/v1/personal-access-tokens",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: pats,
        summary: "List personal access tokens (yours; admins may pass user_id)",
        querystring: ListPatsQuery,
        response: { 200: listOf(TokenOut) },
      },
    },
    async (request) => {
      const { user_id } = request.query;
      return page(
        await ctx.client.request(authAdminPatsList, {
          actor: actorOf(request),
          ...pageArgs(request.query),
          ...(user_id === undefined ? {} : { userId: user_id }),
        }),
        tokenOut,
      );
    },
  );

  app.delete(
    "/api/v1/personal-access-tokens/:id",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: pats,
        summary: "Revoke a personal access token (your own; admins any)",
        params: IdParams,
        response: { 200: TokenOut.extend(Propagated) },
      },
    },
    async (request) =>
      revokedOut(
        tokenOut,
        await ctx.client.request(authAdminPatsRevoke, { actor: actorOf(request), id: request.params.id }),
      ),
  );

  app.post(
    "/api/v1/users/:id/personal-access-tokens/revoke-all",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: pats,
        summary: "Revoke every personal access token of a user (admin)",
        params: IdParams,
        response: { 200: RevokedCountOut.extend(Propagated) },
      },
    },
    async (request) =>
      revokedOut(
        (r) => ({ revoked: r.revoked }),
        await ctx.client.request(authAdminPatsRevokeAllForUser, {
          actor: actorOf(request),
          id: request.params.id,
        }),
      ),
  );

  app.post(
    "/api/v1/personal-access-tokens/revoke-all",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: pats,
        summary: "Revoke every personal access token in the organisation, the caller's included (admin)",
        response: { 200: RevokedCountOut.extend(Propagated) },
      },
    },
    async (request) =>
      revokedOut(
        (r) => ({ revoked: r.revoked }),
        await ctx.client.request(authAdminPatsRevokeAll, { actor: actorOf(request) }),
      ),
  );

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

  app.get(
    "/api/v1/virtual-accounts/:id/tokens",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: vats,
        summary: "List a virtual account's tokens (admin)",
        params: IdParams,
        querystring: PageQuery,
        response: { 200: listOf(TokenOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(authAdminVatsList, {
          actor: actorOf(request),
          virtualAccountId: request.params.id,
          ...pageArgs(request.query),
        }),
        tokenOut,
      ),
  );

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

  app.delete(
    "/api/v1/virtual-accounts/:id/tokens/:tokenId",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: vats,
        summary: "Revoke a virtual account token at once (admin)",
        params: TokenParams,
        response: { 200: TokenOut.extend(Propagated) },
      },
    },
    async (request) =>
      revokedOut(
        tokenOut,
        await ctx.client.request(authAdminVatsRevoke, {
          actor: actorOf(request),
          virtualAccountId: request.params.id,
          tokenId: request.params.tokenId,
        }),
      ),
  );
}
