import { randomUUID } from "node:crypto";
import { isAdmin } from "@gatehouse/access-events";
import { type Route, route } from "@gatehouse/bus";
import {
  type Actor,
  aclAccounts,
  aclAdminGrantsPurgeAccount,
  dispatchAdminAccountsCreate,
  dispatchAdminAccountsDelete,
  dispatchAdminAccountsDisable,
  dispatchAdminAccountsEnable,
  dispatchAdminAccountsGet,
  dispatchAdminAccountsList,
  GatehouseError,
} from "@gatehouse/contracts";
import { isUniqueViolation } from "@gatehouse/db";
import { eq } from "drizzle-orm";
import type { AccountsContext, DispatchDb, DispatchTx } from "../accounts/context.js";
import { clearGrants, createClearing } from "../accounts/grants.js";
import { loadAccountRow } from "../accounts/load.js";
import { accountsPage, decodeNameCursor } from "../accounts/pages.js";
import { requireAccountRole } from "../accounts/permissions.js";
import { requireEgressAllowed, validateAccountConfig } from "../accounts/validate.js";
import { accountView } from "../accounts/view.js";
import { sealCredentials } from "../crypto/credentials.js";
import { providerAccounts } from "../db/schema.js";
import { routesUsing } from "../routes/store.js";

export function accountRoutes(ctx: AccountsContext): Route[] {
  return [
    route(dispatchAdminAccountsCreate, async (req) => {
      await ctx.changes.requireAdmin(req.actor, {
        action: "account.create",
        targetKind: "provider_account",
        targetId: req.name,
      });
      const baseUrl = req.baseUrl ?? null;
      validateAccountConfig(req.type, { baseUrl, credentials: req.credentials, options: req.options });
      if (baseUrl !== null) requireEgressAllowed(ctx.egress, baseUrl);
      const id = randomUUID();
      const now = ctx.now();
      try {
        const planned = { name: req.name, id };
        const existing = async () =>
          (
            await ctx.db
              .select({ id: providerAccounts.id })
              .from(providerAccounts)
              .where(eq(providerAccounts.name, req.name))
          )[0]?.id;
        return await createClearing(ctx, req.actor, "account", planned, existing, (clear) =>
          ctx.changes.run(async (tx) => {
            const [row] = await tx
              .insert(providerAccounts)
              .values({
                id,
                name: req.name,
                type: req.type,
                baseUrl,
                options: req.options,
                credentialsCiphertext: sealCredentials(ctx.masterKey, id, req.credentials),
                credentialsSet: Object.keys(req.credentials).length > 0,
                models: req.models,
                enabled: req.enabled,
                createdAt: now,
                updatedAt: now,
                createdBy: req.actor.principal.id,
              })
              .returning();
            if (!row) throw new Error("account insert returned no row");
            // While the row is not yet visible: grants left from an earlier account of this name go.
            await clear();
            await ctx.changes.audit(
              tx,
              req.actor,
              {
                action: "account.create",
                targetKind: "provider_account",
                targetId: row.name,
                outcome: "success",
                detail: { type: row.type, models: row.models.length, enabled: row.enabled },
              },
              now,
            );
            return accountView(row);
          }),
        );
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new GatehouseError("conflict", `a provider account named '${req.name}' exists`);
        }
        throw err;
      }
    }),

    route(dispatchAdminAccountsList, async (req) => {
      const after = decodeNameCursor(req.cursor);
      if (isAdmin(req.actor)) return accountsPage(ctx.db, { after, limit: req.limit });
      // Members see the accounts they hold a grant on, paged by acl: they may hold any number.
      const { id, kind, role } = req.actor.principal;
      const held = await ctx.client.request(aclAccounts, {
        principal: { id, kind, role },
        ...(after === undefined ? {} : { after }),
        limit: req.limit,
      });
      const names = held.accounts.map((a) => a.account);
      return accountsPage(ctx.db, { after, names, limit: req.limit, namesContinue: held.next });
    }),

    route(dispatchAdminAccountsGet, async (req) => {
      await requireAccountRole(ctx, req.actor, req.name, "user", "account.get");
      return accountView(await loadAccountRow(ctx.db, req.name));
    }),

    route(dispatchAdminAccountsDisable, (req) => setEnabled(ctx, req.actor, req.name, false)),
    route(dispatchAdminAccountsEnable, (req) => setEnabled(ctx, req.actor, req.name, true)),

    route(dispatchAdminAccountsDelete, async (req) => {
      await ctx.changes.requireAdmin(req.actor, {
        action: "account.delete",
        targetKind: "provider_account",
        targetId: req.name,
      });
      await loadAccountRow(ctx.db, req.name);
      await refuseWhileRouted(ctx.db, req.name);
      // Grants go first: if the delete then fails the account merely lost its grants (safe), whereas
      // the other order could let a later account under the same name inherit them.
      await ctx.client.request(aclAdminGrantsPurgeAccount, { actor: req.actor, account: req.name });
      const now = ctx.now();
      const deleted = await ctx.changes.revoking(async (tx, emit) => {
        const current = await loadAccountRow(tx, req.name, true);
        await refuseWhileRouted(tx, req.name);
        await tx.delete(providerAccounts).where(eq(providerAccounts.id, current.id));
        await ctx.changes.audit(
          tx,
          req.actor,
          {
            action: "account.delete",
            targetKind: "provider_account",
            targetId: current.name,
            outcome: "success",
            detail: { type: current.type },
          },
          now,
        );
        await emit({ type: "account.deleted", account: current.name });
        return accountView(current);
      });
      // And again once the row is gone: a grant made while the delete ran must not outlive it.
      await clearGrants(ctx, req.actor, "account", deleted, "delete");
      return deleted;
    }),
  ];
}

/**
 * An account a route sends calls to is not deleted (409 naming the routes): silently dropping it
 * would change where a route's traffic goes, or leave a route with no target. Take it out of the
 * routes first (PATCH /api/v1/routes/:name), or delete them.
 */
async function refuseWhileRouted(db: DispatchDb | DispatchTx, account: string): Promise<void> {
  const names = await routesUsing(db, account);
  if (names.length > 0) {
    throw new GatehouseError(
      "conflict",
      `provider account '${account}' is a target of route(s) ${names.map((n) => `'${n}'`).join(", ")}; remove it from them first`,
    );
  }
}

/** Enable or disable an account; disabling an enabled one removes access, so it goes out as an access event. */
async function setEnabled(ctx: AccountsContext, actor: Actor, name: string, enabled: boolean) {
  const action = enabled ? "account.enable" : "account.disable";
  await requireAccountRole(ctx, actor, name, "manager", action);
  const now = ctx.now();
  return ctx.changes.revoking(async (tx, emit) => {
    const current = await loadAccountRow(tx, name, true);
    const [row] = await tx
      .update(providerAccounts)
      .set({ enabled, updatedAt: now })
      .where(eq(providerAccounts.id, current.id))
      .returning();
    if (!row) throw new Error("account update returned no row");
    await ctx.changes.audit(tx, actor, { action, targetKind: "provider_account", targetId: row.name }, now);
    // Disabling twice removes nothing the second time.
    if (!enabled && current.enabled) await emit({ type: "account.disabled", account: row.name });
    return accountView(row);
  });
}
