import { randomUUID } from "node:crypto";
import { type Route, route } from "@gatehouse/bus";
import {
  aclAdminTeamMembersAdd,
  aclAdminTeamMembersList,
  aclAdminTeamMembersRemove,
  aclAdminTeamsCreate,
  aclAdminTeamsDelete,
  aclAdminTeamsGet,
  aclAdminTeamsList,
  GatehouseError,
  type Team,
  type TeamMember,
} from "@gatehouse/contracts";
import { and, asc, count, eq, gt, or } from "drizzle-orm";
import { type AclContext, type AclTx, change, revoking } from "../context.js";
import { writeAudit } from "../db/audit.js";
import { decodeCursor, pageFrom } from "../db/cursor.js";
import { grants, teamMembers, teams } from "../db/schema.js";
import { isUniqueViolation, requireAdmin } from "./common.js";

type TeamRow = typeof teams.$inferSelect;
type MemberRow = typeof teamMembers.$inferSelect;

function teamView(row: TeamRow, memberCount: number): Team {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    memberCount,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
  };
}

function memberView(row: MemberRow): TeamMember {
  return {
    teamId: row.teamId,
    userId: row.userId,
    addedAt: row.addedAt.toISOString(),
    addedBy: row.addedBy,
  };
}

async function memberCount(db: AclContext["db"] | AclTx, teamId: string): Promise<number> {
  const [row] = await db.select({ n: count() }).from(teamMembers).where(eq(teamMembers.teamId, teamId));
  return Number(row?.n ?? 0);
}

async function loadTeam(db: AclContext["db"] | AclTx, teamId: string): Promise<TeamRow> {
  const [row] = await db.select().from(teams).where(eq(teams.id, teamId));
  if (!row) throw new GatehouseError("not_found", "team not found");
  return row;
}

/** Teams are admin-managed: every endpoint here needs a tenant admin. */
export function teamRoutes(ctx: AclContext): Route[] {
  return [
    route(aclAdminTeamsCreate, async (req) => {
      await requireAdmin(ctx, req.actor, "team.create", "team", null);
      const now = ctx.now();
      try {
        return await change(ctx, async (tx) => {
          const [row] = await tx
            .insert(teams)
            .values({
              id: randomUUID(),
              name: req.name,
              description: req.description,
              createdAt: now,
              createdBy: req.actor.principal.id,
            })
            .returning();
          if (!row) throw new Error("team insert returned no row");
          await writeAudit(tx, req.actor, now, {
            action: "team.create",
            targetKind: "team",
            targetId: row.id,
            outcome: "success",
            detail: { name: row.name },
          });
          return teamView(row, 0);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new GatehouseError("conflict", "a team with this name exists");
        throw err;
      }
    }),

    route(aclAdminTeamsList, async (req) => {
      await requireAdmin(ctx, req.actor, "team.list", "team", null);
      const after = decodeCursor(req.cursor);
      const rows = await ctx.db
        .select()
        .from(teams)
        .where(
          after
            ? or(gt(teams.createdAt, after.at), and(eq(teams.createdAt, after.at), gt(teams.id, after.id)))
            : undefined,
        )
        .orderBy(asc(teams.createdAt), asc(teams.id))
        .limit(req.limit + 1);
      const counts = new Map<string, number>();
      for (const r of rows) counts.set(r.id, await memberCount(ctx.db, r.id));
      return pageFrom(
        rows,
        req.limit,
        (r) => ({ at: r.createdAt, id: r.id }),
        (r) => teamView(r, counts.get(r.id) ?? 0),
      );
    }),

    route(aclAdminTeamsGet, async (req) => {
      await requireAdmin(ctx, req.actor, "team.get", "team", req.teamId);
      const row = await loadTeam(ctx.db, req.teamId);
      return teamView(row, await memberCount(ctx.db, row.id));
    }),

    route(aclAdminTeamsDelete, async (req) => {
      await requireAdmin(ctx, req.actor, "team.delete", "team", req.teamId);
      const now = ctx.now();
      return revoking(ctx, async (tx, emit) => {
        const row = await loadTeam(tx, req.teamId);
        const members = await memberCount(tx, row.id);
        // Grants to the team go with it: a later team cannot inherit them. Memberships cascade.
        const removedGrants = await tx
          .delete(grants)
          .where(and(eq(grants.subjectKind, "team"), eq(grants.subjectId, row.id)))
          .returning({ account: grants.account });
        await tx.delete(teams).where(eq(teams.id, row.id));
        await writeAudit(tx, req.actor, now, {
          action: "team.delete",
          targetKind: "team",
          targetId: row.id,
          outcome: "success",
          detail: { name: row.name, members, grantsRemoved: removedGrants.map((g) => g.account) },
        });
        await emit({ type: "team.deleted", teamId: row.id });
        return teamView(row, members);
      });
    }),

    route(aclAdminTeamMembersAdd, async (req) => {
      await requireAdmin(ctx, req.actor, "team.member.add", "team", req.teamId);
      const now = ctx.now();
      try {
        return await change(ctx, async (tx) => {
          await loadTeam(tx, req.teamId);
          const [row] = await tx
            .insert(teamMembers)
            .values({ teamId: req.teamId, userId: req.userId, addedAt: now, addedBy: req.actor.principal.id })
            .returning();
          if (!row) throw new Error("member insert returned no row");
          await writeAudit(tx, req.actor, now, {
            action: "team.member.add",
            targetKind: "team",
            targetId: req.teamId,
            outcome: "success",
            detail: { userId: req.userId },
          });
          return memberView(row);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new GatehouseError("conflict", "the user is already a member");
        throw err;
      }
    }),

    route(aclAdminTeamMembersList, async (req) => {
      await requireAdmin(ctx, req.actor, "team.member.list", "team", req.teamId);
      await loadTeam(ctx.db, req.teamId);
      const after = decodeCursor(req.cursor);
      const rows = await ctx.db
        .select()
        .from(teamMembers)
        .where(
          and(
            eq(teamMembers.teamId, req.teamId),
            after
              ? or(
                  gt(teamMembers.addedAt, after.at),
                  and(eq(teamMembers.addedAt, after.at), gt(teamMembers.userId, after.id)),
                )
              : undefined,
          ),
        )
        .orderBy(asc(teamMembers.addedAt), asc(teamMembers.userId))
        .limit(req.limit + 1);
      return pageFrom(rows, req.limit, (r) => ({ at: r.addedAt, id: r.userId }), memberView);
    }),

    route(aclAdminTeamMembersRemove, async (req) => {
      await requireAdmin(ctx, req.actor, "team.member.remove", "team", req.teamId);
      const now = ctx.now();
      return revoking(ctx, async (tx, emit) => {
        await loadTeam(tx, req.teamId);
        const [row] = await tx
          .delete(teamMembers)
          .where(and(eq(teamMembers.teamId, req.teamId), eq(teamMembers.userId, req.userId)))
          .returning();
        if (!row) throw new GatehouseError("not_found", "the user is not a member of this team");
        await writeAudit(tx, req.actor, now, {
          action: "team.member.remove",
          targetKind: "team",
          targetId: req.teamId,
          outcome: "success",
          detail: { userId: req.userId },
        });
        await emit({ type: "team_member.removed", teamId: req.teamId, userId: req.userId });
        return memberView(row);
      });
    }),
  ];
}
