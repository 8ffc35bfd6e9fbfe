import { randomUUID } from "node:crypto";
import { type Route, route } from "@gatehouse/bus";
import {
  aclAdminGrantsCreate,
  aclAdminGrantsDelete,
  aclAdminGrantsList,
  aclAdminGrantsPurgeAccount,
  GatehouseError,
  type Grant,
} from "@gatehouse/contracts";
import { isUniqueViolation, keysetAfter, keysetOrder, pageFrom } from "@gatehouse/db";
import { and, eq } from "drizzle-orm";
import type { AclContext } from "../context.js";
import { grants, teams } from "../db/schema.js";
import { requireManager } from "./common.js";

type GrantRow = typeof grants.$inferSelect;

export function grantView(row: GrantRow): Grant {
  return {
    id: row.id,
    account: row.account,
    subject: { kind: row.subjectKind, id: row.subjectId },
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
  };
}

export function grantRoutes(ctx: AclContext): Route[] {
  return [
    route(aclAdminGrantsCreate, async (req) => {
      await requireManager(ctx, req.actor, req.account, "grant.create");
      const now = ctx.now();
      try {
        return await ctx.changes.run(async (tx) => {
          if (req.subject.kind === "team") {
            const team = await tx.select({ id: teams.id }).from(teams).where(eq(teams.id, req.subject.id));
            if (team.length === 0) throw new GatehouseError("not_found", "team not found");
          }
          const [row] = await tx
            .insert(grants)
            .values({
              id: randomUUID(),
              account: req.account,
              subjectKind: req.subject.kind,
              subjectId: req.subject.id,
              role: req.role,
              createdAt: now,
              createdBy: req.actor.principal.id,
            })
            .returning();
          if (!row) throw new Error("grant insert returned no row");
          await ctx.changes.audit(
            tx,
            req.actor,
            {
              action: "grant.create",
              targetKind: "grant",
              targetId: row.id,
              outcome: "success",
              detail: { account: row.account, subject: req.subject, role: row.role },
            },
            now,
          );
          return grantView(row);
        });
      } catch (err) {
        // Changing a role is delete + create: a downgrade must go out as an access event.
        if (isUniqueViolation(err)) {
          throw new GatehouseError("conflict", "this subject already has a grant on the account");
        }
        throw err;
      }
    }),

    route(aclAdminGrantsList, async (req) => {
      await requireManager(ctx, req.actor, req.account, "grant.list");
      const rows = await ctx.db
        .select()
        .from(grants)
        .where(
          and(eq(grants.account, req.account), keysetAfter(grants.createdAt, grants.id, req.cursor, "asc")),
        )
        .orderBy(...keysetOrder(grants.createdAt, grants.id, "asc"))
        .limit(req.limit + 1);
      return pageFrom(rows, req.limit, (r) => ({ at: r.createdAt, id: r.id }), grantView);
    }),

    route(aclAdminGrantsDelete, async (req) => {
      await requireManager(ctx, req.actor, req.account, "grant.delete");
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        const [row] = await tx
          .delete(grants)
          .where(and(eq(grants.id, req.grantId), eq(grants.account, req.account)))
          .returning();
        if (!row) throw new GatehouseError("not_found", "grant not found on this account");
        await ctx.changes.audit(
          tx,
          req.actor,
          {
            action: "grant.delete",
            targetKind: "grant",
            targetId: row.id,
            outcome: "success",
            detail: {
              account: row.account,
              subject: { kind: row.subjectKind, id: row.subjectId },
              role: row.role,
            },
          },
          now,
        );
        await emit({
          type: "grant.removed",
          subject: { kind: row.subjectKind, id: row.subjectId },
          account: row.account,
        });
        return grantView(row);
      });
    }),

    route(aclAdminGrantsPurgeAccount, async (req) => {
      await ctx.changes.requireAdmin(req.actor, {
        action: "grant.purge_account",
        targetKind: "provider_account",
        targetId: req.account,
      });
      const now = ctx.now();
      return ctx.changes.revoking(async (tx, emit) => {
        const rows = await tx.delete(grants).where(eq(grants.account, req.account)).returning();
        for (const row of rows) {
          await emit({
            type: "grant.removed",
            subject: { kind: row.subjectKind, id: row.subjectId },
            account: row.account,
          });
        }
        await ctx.changes.audit(
          tx,
          req.actor,
          {
            action: "grant.purge_account",
            targetKind: "provider_account",
            targetId: req.account,
            outcome: "success",
            detail: { removed: rows.length },
          },
          now,
        );
        return { removed: rows.length };
      });
    }),
  ];
}
