import {
  aclAdminAuditList,
  aclAdminTeamMembersAdd,
  aclAdminTeamMembersList,
  aclAdminTeamMembersRemove,
  aclAdminTeamsCreate,
  aclAdminTeamsDelete,
  aclAdminTeamsGet,
  aclAdminTeamsList,
  dispatchAdminAuditList,
} from "@gatehouse/contracts";
import type { IngressContext } from "../../../context.js";
import { Propagated, revokedOut } from "../propagation.js";
import type { ZodApp } from "./index.js";
import {
  AddMemberBody,
  AuditOut,
  AuditQuery,
  actorOf,
  auditOut,
  CreateTeamBody,
  listOf,
  MemberOut,
  MemberParams,
  memberOut,
  PageQuery,
  page,
  pageArgs,
  TeamOut,
  TeamParams,
  teamOut,
} from "./views.js";

/** Teams are admin-managed (acl refuses everyone else). */
export function teamRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["teams"];

  app.post(
    "/api/v1/teams",
    {
      onRequest: ctx.authenticate,
      schema: { tags, summary: "Create a team (admin)", body: CreateTeamBody, response: { 201: TeamOut } },
    },
    async (request, reply) => {
      const team = await ctx.client.request(aclAdminTeamsCreate, {
        actor: actorOf(request),
        name: request.body.name,
        ...(request.body.description === undefined ? {} : { description: request.body.description }),
      });
      return reply.code(201).send(teamOut(team));
    },
  );

  app.get(
    "/api/v1/teams",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "List teams (admin)",
        querystring: PageQuery,
        response: { 200: listOf(TeamOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(aclAdminTeamsList, { actor: actorOf(request), ...pageArgs(request.query) }),
        teamOut,
      ),
  );

  app.get(
    "/api/v1/teams/:id",
    {
      onRequest: ctx.authenticate,
      schema: { tags, summary: "Get a team (admin)", params: TeamParams, response: { 200: TeamOut } },
    },
    async (request) =>
      teamOut(
        await ctx.client.request(aclAdminTeamsGet, { actor: actorOf(request), teamId: request.params.id }),
      ),
  );

  app.delete(
    "/api/v1/teams/:id",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Delete a team and its grants (admin): members lose what the team gave them at once",
        params: TeamParams,
        response: { 200: TeamOut.extend(Propagated) },
      },
    },
    async (request) =>
      revokedOut(
        teamOut,
        await ctx.client.request(aclAdminTeamsDelete, { actor: actorOf(request), teamId: request.params.id }),
      ),
  );

  app.get(
    "/api/v1/teams/:id/members",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "List a team's members (admin)",
        params: TeamParams,
        querystring: PageQuery,
        response: { 200: listOf(MemberOut) },
      },
    },
    async (request) =>
      page(
        await ctx.client.request(aclAdminTeamMembersList, {
          actor: actorOf(request),
          teamId: request.params.id,
          ...pageArgs(request.query),
        }),
        memberOut,
      ),
  );

  app.post(
    "/api/v1/teams/:id/members",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Add a user to a team (admin)",
        params: TeamParams,
        body: AddMemberBody,
        response: { 201: MemberOut },
      },
    },
    async (request, reply) => {
      const member = await ctx.client.request(aclAdminTeamMembersAdd, {
        actor: actorOf(request),
        teamId: request.params.id,
        userId: request.body.user_id,
      });
      return reply.code(201).send(memberOut(member));
    },
  );

  app.delete(
    "/api/v1/teams/:id/members/:userId",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags,
        summary: "Remove a user from a team (admin): takes effect on every replica before this returns",
        params: MemberParams,
        response: { 200: MemberOut.extend(Propagated) },
      },
    },
    async (request) =>
      revokedOut(
        memberOut,
        await ctx.client.request(aclAdminTeamMembersRemove, {
          actor: actorOf(request),
          teamId: request.params.id,
          userId: request.params.userId,
        }),
      ),
  );

  app.get(
    "/api/v1/access-audit-events",
    {
      onRequest: ctx.authenticate,
      schema: {
        tags: ["audit"],
        summary:
          "Audit log of grants and teams (source=acl) or provider accounts (source=dispatch), newest first (admin)",
        querystring: AuditQuery,
        response: { 200: listOf(AuditOut) },
      },
    },
    async (request) => {
      const args = { actor: actorOf(request), ...pageArgs(request.query) };
      const result =
        request.query.source === "dispatch"
          ? await ctx.client.request(dispatchAdminAuditList, args)
          : await ctx.client.request(aclAdminAuditList, args);
      return page(result, auditOut);
    },
  );
}
