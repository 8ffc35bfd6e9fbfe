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
import { isUniqueViolation, keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, count, eq } from "drizzle-orm";
import type { AclContext, AclTx } from "../context.js";
import { grants, teamMembers, teams } from "../db/schema.js";

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
      await ctx.changes.requireAdmin(req.actor, {
        action: "team.create",
        targetKind: "team",
        targetId: null,
      });
      const now = ctx.now();
      try {
        return await ctx.changes.run(async (tx) => {
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
          await ctx.changes.audit(
            tx,
            req.actor,
            {
              action: "team.create",
              targetKind: "team",
              targetId: row.id,
              outcome: "success",
              detail: { name: row.name },
            },
            now,
          );
          return teamView(row, 0);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new GatehouseError("conflict", "a team with this name exists");
        throw err;
      }
    }),

    route(aclAdminTeamsList, async (req) => {
      await ctx.changes.requireAdmin(req.actor, { action: "team.list", targetKind: "team", targetId: null });
      const rows = await ctx.db
        .select()
        .from(teams)
        .where(keysetAfter(teams.createdAt, teams.id, req.cursor, "asc"))
        .orderBy(...keysetOrder(teams.createdAt, teams.id, "asc"))
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
      await ctx.changes.requireAdmin(req.actor, {
        action: "team.get",
        targetKind: "team",
        targetId: req.teamId,
      });
      const row = await loadTeam(ctx.db, req.teamId);
      return teamView(row, await memberCount(ctx.db, row.id));
    }),

    route(aclAdminTeamsDelete, async (req) => {
      await ctx.changes.requireAdmin(req.actor, {
        action: "team.delete",
        targetKind: "team",
        targetId: req.teamId,
      });
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        const row = await loadTeam(tx, req.teamId);
        const members = await memberCount(tx, row.id);
        // Grants to the team go with it: a later team cannot inherit them. Memberships cascade.
        const removedGrants = await tx
          .delete(grants)
          .where(and(eq(grants.subjectKind, "team"), eq(grants.subjectId, row.id)))
          .returning({ account: grants.account });
        await tx.delete(teams).where(eq(teams.id, row.id));
        await ctx.changes.audit(
          tx,
          req.actor,
          {
            action: "team.delete",
            targetKind: "team",
            targetId: row.id,
            outcome: "success",
            detail: { name: row.name, members, grantsRemoved: removedGrants.map((g) => g.account) },
          },
          now,
        );
        await emit({ type: "team.deleted", teamId: row.id });
        return teamView(row, members);
      });
    }),

    route(aclAdminTeamMembersAdd, async (req) => {
      await ctx.changes.requireAdmin(req.actor, {
        action: "team.member.add",
        targetKind: "team",
        targetId: req.teamId,
      });
      const now = ctx.now();
      try {
        return await ctx.changes.run(async (tx) => {
          await loadTeam(tx, req.teamId);
          const [row] = await tx
            .insert(teamMembers)
            .values({ teamId: req.teamId, userId: req.userId, addedAt: now, addedBy: req.actor.principal.id })
            .returning();
          if (!row) throw new Error("member insert returned no row");
          await ctx.changes.audit(
            tx,
            req.actor,
            {
              action: "team.member.add",
              targetKind: "team",
              targetId: req.teamId,
              outcome: "success",
              detail: { userId: req.userId },
            },
            now,
          );
          return memberView(row);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw new GatehouseError("conflict", "the user is already a member");
        throw err;
      }
    }),

    route(aclAdminTeamMembersList, async (req) => {
      await ctx.changes.requireAdmin(req.actor, {
        action: "team.member.list",
        targetKind: "team",
        targetId: req.teamId,
      });
      await loadTeam(ctx.db, req.teamId);
      const rows = await ctx.db
        .select()
        .from(teamMembers)
        .where(
          and(
            eq(teamMembers.teamId, req.teamId),
            keysetAfter(teamMembers.addedAt, teamMembers.userId, req.cursor, "asc"),
          ),
        )
        .orderBy(...keysetOrder(teamMembers.addedAt, teamMembers.userId, "asc"))
        .limit(req.limit + 1);
      return pageFrom(rows, req.limit, (r) => ({ at: r.addedAt, id: r.userId }), memberView);
    }),

    route(aclAdminTeamMembersRemove, async (req) => {
      await ctx.changes.requireAdmin(req.actor, {
        action: "team.member.remove",
        targetKind: "team",
        targetId: req.teamId,
      });
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        await loadTeam(tx, req.teamId);
        const [row] = await tx
          .delete(teamMembers)
          .where(and(eq(teamMembers.teamId, req.teamId), eq(teamMembers.userId, req.userId)))
          .returning();
        if (!row) throw new GatehouseError("not_found", "the user is not a member of this team");
        await ctx.changes.audit(
          tx,
          req.actor,
          {
            action: "team.member.remove",
            targetKind: "team",
            targetId: req.teamId,
            outcome: "success",
            detail: { userId: req.userId },
          },
          now,
        );
        await emit({ type: "team_member.removed", teamId: req.teamId, userId: req.userId });
        return memberView(row);
      });
    }),
  ];
}
