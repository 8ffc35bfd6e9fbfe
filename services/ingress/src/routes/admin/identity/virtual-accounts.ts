import {
  authAdminVirtualAccountsCreate,
  authAdminVirtualAccountsDelete,
  authAdminVirtualAccountsGet,
  authAdminVirtualAccountsList,
} from "@gatehouse/contracts";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, camelArgs, IdParams, snakeView, type ZodApp } from "../http.js";
import { Propagated } from "../propagation.js";
import { CreateVirtualAccountBody, VirtualAccountOut, virtualAccountOut } from "./views.js";

const Deleted = VirtualAccountOut.extend(Propagated);

export function virtualAccountRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["virtual accounts"];
  const byId = ({ params }: { params: { id: string } }) => ({ id: params.id });

  adminRoute(app, ctx, {
    method: "POST",
    url: "/api/v1/virtual-accounts",
    tags,
    summary: "Create a virtual account (admin)",
    body: CreateVirtualAccountBody,
    response: VirtualAccountOut,
    status: 201,
    endpoint: authAdminVirtualAccountsCreate,
    request: ({ body }) => camelArgs(body),
    view: virtualAccountOut,
  });
  adminList(app, ctx, {
    url: "/api/v1/virtual-accounts",
    tags,
    summary: "List virtual accounts (admin)",
    item: VirtualAccountOut,
    endpoint: authAdminVirtualAccountsList,
    view: virtualAccountOut,
  });
  adminRoute(app, ctx, {
    method: "GET",
    url: "/api/v1/virtual-accounts/:id",
    tags,
    summary: "Get a virtual account (admin)",
    params: IdParams,
    response: VirtualAccountOut,
    endpoint: authAdminVirtualAccountsGet,
    request: byId,
    view: virtualAccountOut,
  });
  adminRoute(app, ctx, {
    method: "DELETE",
    url: "/api/v1/virtual-accounts/:id",
    tags,
    summary: "Delete a virtual account (admin); its tokens stop working at once",
    params: IdParams,
    response: Deleted,
    endpoint: authAdminVirtualAccountsDelete,
    request: byId,
    view: snakeView(Deleted),
  });
}
