import { z } from "zod";
import {
  Actor,
  AuditPage,
  Empty,
  HealthResponse,
  IsoDateTime,
  ListRequest,
  Page,
  Principal,
  pageOf,
  Uuid,
} from "./common.js";
import { AccountName } from "./dispatch.js";
import { Propagated } from "./events.js";
import { RouteName } from "./routes.js";
import { defineEndpoint } from "./subjects.js";

/** `user` may call every model of the account; `manager` may also edit it and grant others. */
export const GrantRole = z.enum(["user", "manager"]);
export type GrantRole = z.infer<typeof GrantRole>;

export const GrantSubjectKind = z.enum(["user", "team", "virtual_account"]);
export type GrantSubjectKind = z.infer<typeof GrantSubjectKind>;
export const GrantSubject = z.object({ kind: GrantSubjectKind, id: Uuid });
export type GrantSubject = z.infer<typeof GrantSubject>;

/** The part of a principal an access decision depends on. */
export const CheckPrincipal = Principal.pick({ id: true, kind: true, role: true });
export type CheckPrincipal = z.infer<typeof CheckPrincipal>;

/**
 * Exactly one of `account` and `route`: grants on a route and grants on an account are separate —
 * neither opens the other.
 */
export const CheckRequest = z
  .object({
    principal: CheckPrincipal,
    account: AccountName.optional(),
    route: RouteName.optional(),
    /** The model asked for; grants are per account today, the model is carried for the record. */
    model: z.string().max(256).optional(),
    /** The least role that allows: `manager` for editing the account or granting on it. */
    minimumRole: GrantRole.default("user"),
  })
  .refine((r) => (r.account === undefined) !== (r.route === undefined), {
    message: "exactly one of account and route",
  });
export type CheckRequest = z.input<typeof CheckRequest>;

export const CheckReason = z.enum(["tenant_admin", "direct_grant", "team_grant", "no_grant"]);
export type CheckReason = z.infer<typeof CheckReason>;

export const CheckResponse = z.object({
  allowed: z.boolean(),
  reason: CheckReason,
  /** The highest role the principal holds on the account, when it holds one. */
  role: GrantRole.optional(),
  /**
   * With `team_grant`: the teams whose grant allowed the call, so their rate limits and budgets
   * count it (a call allowed by a direct grant is not counted against a team).
   */
  teamIds: z.array(Uuid).max(1_000).optional(),
});
export type CheckResponse = z.infer<typeof CheckResponse>;

/**
 * The accounts a principal holds a grant on, in name order, a page at a time: a principal may hold
 * grants on any number of accounts, and one NATS message holds about 10,000 names.
 */
export const ACCOUNTS_PAGE_MAX = 1_000;
export const GrantResource = z.enum(["account", "route"]);
export type GrantResource = z.infer<typeof GrantResource>;
export const AccountsRequest = z.object({
  principal: CheckPrincipal,
  /** `route`: the routes held instead of the accounts (the names below are then route names). */
  resource: GrantResource.default("account"),
  after: z.union([AccountName, RouteName]).optional(),
  limit: z.number().int().min(1).max(ACCOUNTS_PAGE_MAX).default(ACCOUNTS_PAGE_MAX),
});
export const AccountsResponse = z.object({
  /** True for tenant admins: every account, whether or not it is listed below. */
  all: z.boolean(),
  accounts: z.array(z.object({ account: z.string(), role: GrantRole })),
  /** The `after` of the next page; `null` after the last. */
  next: z.string().nullable(),
});
export type AccountsResponse = z.infer<typeof AccountsResponse>;

export const Grant = z.object({
  id: Uuid,
  account: AccountName,
  subject: GrantSubject,
  role: GrantRole,
  createdAt: IsoDateTime,
  createdBy: Uuid.nullable(),
});
export type Grant = z.infer<typeof Grant>;

export const TeamName = z.string().trim().min(1).max(200);
export const Team = z.object({
  id: Uuid,
  name: z.string(),
  description: z.string(),
  memberCount: z.number().int().min(0),
  createdAt: IsoDateTime,
  createdBy: Uuid.nullable(),
});
export type Team = z.infer<typeof Team>;

export const TeamMember = z.object({
  teamId: Uuid,
  userId: Uuid,
  addedAt: IsoDateTime,
  addedBy: Uuid.nullable(),
});
export type TeamMember = z.infer<typeof TeamMember>;

export const CreateGrantRequest = z.object({
  actor: Actor,
  account: AccountName,
  /**
   * The id of the account (or route) the caller's existence check found (dispatch's `admin.*.get`).
   * acl inserts the grant only while the name still stands for that resource: a grant asked for on
   * a resource that is deleted, and perhaps created again, meanwhile is refused (`not_found`).
   */
  resourceId: Uuid,
  subject: GrantSubject,
  role: GrantRole,
});
export const ListGrantsRequest = z.object({ actor: Actor, account: AccountName, ...Page });
export const GrantIdRequest = z.object({ actor: Actor, account: AccountName, grantId: Uuid });
export const PurgeAccountRequest = z.object({ actor: Actor, account: AccountName });
export const PurgeAccountResponse = z.object({ removed: z.number().int().min(0) });

export const CreateTeamRequest = z.object({
  actor: Actor,
  name: TeamName,
  description: z.string().max(2_000).default(""),
});
export const TeamIdRequest = z.object({ actor: Actor, teamId: Uuid });
export const ListMembersRequest = z.object({ actor: Actor, teamId: Uuid, ...Page });
export const MemberRequest = z.object({ actor: Actor, teamId: Uuid, userId: Uuid });

export const aclHealth = defineEndpoint("acl", "health", Empty, HealthResponse);
export const aclCheck = defineEndpoint("acl", "check", CheckRequest, CheckResponse);
export const aclAccounts = defineEndpoint("acl", "accounts", AccountsRequest, AccountsResponse);

/** The most users one `acl.teams_of` request asks about. */
export const TEAMS_OF_MAX_USERS = 1_000;
export const TeamsOfRequest = z.object({ userIds: z.array(Uuid).min(1).max(TEAMS_OF_MAX_USERS) });
/** Each asked-about user's teams (sorted ids); a user in no team maps to `[]`. */
export const TeamsOfResponse = z.object({ teams: z.record(Uuid, z.array(Uuid)) });
/** Which teams users are in now: dispatch asks when it stores their usage records (`teamIds`). */
export const aclTeamsOf = defineEndpoint("acl", "teams_of", TeamsOfRequest, TeamsOfResponse);

export const aclAdminGrantsCreate = defineEndpoint("acl", "admin.grants.create", CreateGrantRequest, Grant);
export const aclAdminGrantsList = defineEndpoint(
  "acl",
  "admin.grants.list",
  ListGrantsRequest,
  pageOf(Grant),
);
export const aclAdminGrantsDelete = defineEndpoint(
  "acl",
  "admin.grants.delete",
  GrantIdRequest,
  Grant.extend(Propagated),
);
/** Drop every grant on an account; dispatch calls it before deleting the account, so a new account
 * created later under the same name does not inherit them. */
export const aclAdminGrantsPurgeAccount = defineEndpoint(
  "acl",
  "admin.grants.purge_account",
  PurgeAccountRequest,
  PurgeAccountResponse,
);

/** A grant on a route: lets the subject call the route (`user`) or also grant on it (`manager`). */
export const RouteGrant = Grant.omit({ account: true }).extend({ route: RouteName });
export type RouteGrant = z.infer<typeof RouteGrant>;
export const CreateRouteGrantRequest = CreateGrantRequest.omit({ account: true }).extend({
  route: RouteName,
});
export const ListRouteGrantsRequest = z.object({ actor: Actor, route: RouteName, ...Page });
export const RouteGrantIdRequest = z.object({ actor: Actor, route: RouteName, grantId: Uuid });
export const PurgeRouteRequest = z.object({ actor: Actor, route: RouteName });

export const aclAdminRouteGrantsCreate = defineEndpoint(
  "acl",
  "admin.route_grants.create",
  CreateRouteGrantRequest,
  RouteGrant,
);
export const aclAdminRouteGrantsList = defineEndpoint(
  "acl",
  "admin.route_grants.list",
  ListRouteGrantsRequest,
  pageOf(RouteGrant),
);
export const aclAdminRouteGrantsDelete = defineEndpoint(
  "acl",
  "admin.route_grants.delete",
  RouteGrantIdRequest,
  RouteGrant.extend(Propagated),
);
/** Drop every grant on a route; dispatch calls it before deleting the route (names are reusable). */
export const aclAdminRouteGrantsPurge = defineEndpoint(
  "acl",
  "admin.route_grants.purge",
  PurgeRouteRequest,
  PurgeAccountResponse,
);

/**
 * Drop whatever grants are left on a resource name, as dispatch's own step (not a permission the
 * actor needs; the bus lets only dispatch publish here, and acl proves the actor with auth as for
 * `admin.*`): inside a create, before the new account or route is visible, and again after a delete.
 * `step` and `resourceId` tell acl what the name stands for from now on: the created resource, or
 * nothing (a delete of a resource the name no longer stands for, because a newer one of the name was
 * created meanwhile, clears nothing). acl inserts a grant only for the resource the name stands for,
 * so a grant whose existence check saw an older resource is never inherited by a later one.
 */
const clearing = { actor: Actor, step: z.enum(["create", "delete"]), resourceId: Uuid };
export const ClearGrantsRequest = z.discriminatedUnion("resource", [
  z.object({ ...clearing, resource: z.literal("account"), name: AccountName }),
  z.object({ ...clearing, resource: z.literal("route"), name: RouteName }),
]);
export type ClearGrantsRequest = z.input<typeof ClearGrantsRequest>;
export const aclGrantsClear = defineEndpoint("acl", "grants.clear", ClearGrantsRequest, PurgeAccountResponse);

export const aclAdminTeamsCreate = defineEndpoint("acl", "admin.teams.create", CreateTeamRequest, Team);
export const aclAdminTeamsList = defineEndpoint("acl", "admin.teams.list", ListRequest, pageOf(Team));
export const aclAdminTeamsGet = defineEndpoint("acl", "admin.teams.get", TeamIdRequest, Team);
export const aclAdminTeamsDelete = defineEndpoint(
  "acl",
  "admin.teams.delete",
  TeamIdRequest,
  Team.extend(Propagated),
);
export const aclAdminTeamMembersAdd = defineEndpoint(
  "acl",
  "admin.teams.members.add",
  MemberRequest,
  TeamMember,
);
export const aclAdminTeamMembersList = defineEndpoint(
  "acl",
  "admin.teams.members.list",
  ListMembersRequest,
  pageOf(TeamMember),
);
export const aclAdminTeamMembersRemove = defineEndpoint(
  "acl",
  "admin.teams.members.remove",
  MemberRequest,
  TeamMember.extend(Propagated),
);
export const aclAdminAuditList = defineEndpoint("acl", "admin.audit.list", ListRequest, AuditPage);
