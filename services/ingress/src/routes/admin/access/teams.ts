import * as bus from "@gatehouse/contracts";
import { actorOf } from "../../../auth/caller.js";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, listOf, pageArgs, pageView, snakeView, type ZodApp } from "../http.js";
import { Propagated } from "../propagation.js";
import {
  AddMemberBody,
  AuditOut,
  AuditQuery,
  auditOut,
  CreateTeamBody,
  MemberOut,
  MemberParams,
  memberOut,
  PageQuery,
  TeamOut,
  TeamParams,
  teamOut,
} from "./views.js";

const TeamDeleted = TeamOut.extend(Propagated);
const MemberRemoved = MemberOut.extend(Propagated);

/** Teams are admin-managed (acl refuses everyone else). */
export function teamRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["teams"];
  const team = ({ params }: { params: { id: string } }) => ({ teamId: params.id });

  adminRoute(app, ctx, {
    method: "POST",
    url: "/api/v1/teams",
    tags,
    summary: "Create a team (admin)",
    body: CreateTeamBody,
    response: TeamOut,
    status: 201,
    endpoint: bus.aclAdminTeamsCreate,
    request: ({ body }) => body,
    view: teamOut,
  });
  adminList(app, ctx, {
    url: "/api/v1/teams",
    tags,
    summary: "List teams (admin)",
    querystring: PageQuery,
    item: TeamOut,
    endpoint: bus.aclAdminTeamsList,
    view: teamOut,
  });
  adminRoute(app, ctx, {
    method: "GET",
    url: "/api/v1/teams/:id",
    tags,
    summary: "Get a team (admin)",
    params: TeamParams,
    response: TeamOut,
    endpoint: bus.aclAdminTeamsGet,
    request: team,
    view: teamOut,
  });
  adminRoute(app, ctx, {
    method: "DELETE",
    url: "/api/v1/teams/:id",
    tags,
    summary: "Delete a team and its grants (admin): members lose what the team gave them at once",
    params: TeamParams,
    response: TeamDeleted,
    endpoint: bus.aclAdminTeamsDelete,
    request: team,
    view: snakeView(TeamDeleted),
  });
  adminList(app, ctx, {
    url: "/api/v1/teams/:id/members",
    tags,
    summary: "List a team's members (admin)",
    params: TeamParams,
    querystring: PageQuery,
    item: MemberOut,
    endpoint: bus.aclAdminTeamMembersList,
    request: ({ params }) => ({ teamId: params.id }),
    view: memberOut,
  });
  adminRoute(app, ctx, {
    method: "POST",
    url: "/api/v1/teams/:id/members",
    tags,
    summary: "Add a user to a team (admin)",
    params: TeamParams,
    body: AddMemberBody,
    response: MemberOut,
    status: 201,
    endpoint: bus.aclAdminTeamMembersAdd,
    request: ({ params, body }) => ({ teamId: params.id, userId: body.user_id }),
    view: memberOut,
  });
  adminRoute(app, ctx, {
    method: "DELETE",
    url: "/api/v1/teams/:id/members/:userId",
    tags,
    summary: "Remove a user from a team (admin): takes effect on every replica before this returns",
    params: MemberParams,
    response: MemberRemoved,
    endpoint: bus.aclAdminTeamMembersRemove,
    request: ({ params }) => ({ teamId: params.id, userId: params.userId }),
    view: snakeView(MemberRemoved),
  });

  // One list over two services' audit logs, so it picks its endpoint per request.
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
      const endpoint =
        request.query.source === "dispatch" ? bus.dispatchAdminAuditList : bus.aclAdminAuditList;
      const args = { actor: actorOf(request), ...pageArgs(request.query) };
      return pageView(auditOut)(await ctx.client.request(endpoint, args));
    },
  );
}
