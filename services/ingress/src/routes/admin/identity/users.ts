import {
  authAdminMe,
  authAdminUsersCreate,
  authAdminUsersDeactivate,
  authAdminUsersGet,
  authAdminUsersList,
  authAdminUsersReactivate,
} from "@gatehouse/contracts";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, camelArgs, IdParams, snakeView, type ZodApp } from "../http.js";
import { Propagated } from "../propagation.js";
import { CreateUserBody, MeOut, meOut, UserOut, userOut } from "./views.js";

const Deactivated = UserOut.extend(Propagated);

export function userRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["users"];
  const byId = ({ params }: { params: { id: string } }) => ({ id: params.id });

  adminRoute(app, ctx, {
    method: "GET",
    url: "/api/v1/me",
    tags,
    summary: "Who the API key speaks for",
    response: MeOut,
    endpoint: authAdminMe,
    view: meOut,
  });
  adminRoute(app, ctx, {
    method: "POST",
    url: "/api/v1/users",
    tags,
    summary: "Create a user (admin)",
    body: CreateUserBody,
    response: UserOut,
    status: 201,
    endpoint: authAdminUsersCreate,
    request: ({ body }) => camelArgs(body),
    view: userOut,
  });
  adminList(app, ctx, {
    url: "/api/v1/users",
    tags,
    summary: "List users (admin)",
    item: UserOut,
    endpoint: authAdminUsersList,
    view: userOut,
  });
  adminRoute(app, ctx, {
    method: "GET",
    url: "/api/v1/users/:id",
    tags,
    summary: "Get a user (admin, or yourself)",
    params: IdParams,
    response: UserOut,
    endpoint: authAdminUsersGet,
    request: byId,
    view: userOut,
  });
  adminRoute(app, ctx, {
    method: "POST",
    url: "/api/v1/users/:id/deactivate",
    tags,
    summary: "Deactivate a user (admin): all of their personal access tokens stop working at once",
    params: IdParams,
    response: Deactivated,
    endpoint: authAdminUsersDeactivate,
    request: byId,
    view: snakeView(Deactivated),
  });
  adminRoute(app, ctx, {
    method: "POST",
    url: "/api/v1/users/:id/reactivate",
    tags,
    summary: "Reactivate a user (admin); tokens revoked by deactivation stay revoked",
    params: IdParams,
    response: UserOut,
    endpoint: authAdminUsersReactivate,
    request: byId,
    view: userOut,
  });
}
