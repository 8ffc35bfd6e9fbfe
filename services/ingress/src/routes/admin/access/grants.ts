import {
  aclAdminGrantsCreate,
  aclAdminGrantsDelete,
  aclAdminGrantsList,
  dispatchAdminAccountsGet,
} from "@gatehouse/contracts";
import { actorOf } from "../../../auth/caller.js";
import type { IngressContext } from "../../../context.js";
import { adminList, adminRoute, snakeView, type ZodApp } from "../http.js";
import { Propagated } from "../propagation.js";
import {
  accountParam,
  CreateGrantBody,
  GrantOut,
  GrantParams,
  grantOut,
  NameParams,
  PageQuery,
} from "./views.js";

const Removed = GrantOut.extend(Propagated);

/** Grants on one provider account; admins and the account's managers may manage them (acl decides). */
export function grantRoutes(app: ZodApp, ctx: IngressContext): void {
  const tags = ["grants"];
  const base = "/api/v1/provider-accounts/:name/grants";

  adminList(app, ctx, {
    url: base,
    tags,
    summary: "List the grants on a provider account (admin or manager)",
    params: NameParams,
    querystring: PageQuery,
    item: GrantOut,
    endpoint: aclAdminGrantsList,
    request: ({ params }) => ({ account: accountParam(params.name) }),
    view: grantOut,
  });
  adminRoute(app, ctx, {
    method: "POST",
    url: base,
    tags,
    summary: "Grant a user, team or virtual account a role on a provider account (admin or manager)",
    params: NameParams,
    body: CreateGrantBody,
    response: GrantOut,
    status: 201,
    endpoint: aclAdminGrantsCreate,
    request: async ({ params, body }, request) => {
      const account = accountParam(params.name);
      // Grants only on accounts that exist: dispatch owns them (and refuses callers with no role on it).
      // Its id goes with the grant: acl inserts it only while the name still stands for this account.
      const { id } = await ctx.client.request(dispatchAdminAccountsGet, {
        actor: actorOf(request),
        name: account,
      });
      return { account, resourceId: id, subject: body.subject, role: body.role };
    },
    view: grantOut,
  });
  adminRoute(app, ctx, {
    method: "DELETE",
    url: `${base}/:grantId`,
    tags,
    summary: "Remove a grant (admin or manager): takes effect on every replica before this returns",
    params: GrantParams,
    response: Removed,
    endpoint: aclAdminGrantsDelete,
    request: ({ params }) => ({ account: accountParam(params.name), grantId: params.grantId }),
    view: snakeView(Removed),
  });
}
