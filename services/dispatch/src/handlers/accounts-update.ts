import { isAdmin } from "@gatehouse/access-events";
import { type Route, route } from "@gatehouse/bus";
import {
  dispatchAdminAccountsUpdate,
  type ProviderType,
  type UpdateAccountRequest,
} from "@gatehouse/contracts";
import { eq } from "drizzle-orm";
import type { AccountsContext } from "../accounts/context.js";
import { loadAccountRow } from "../accounts/load.js";
import { requireAccountRole } from "../accounts/permissions.js";
import {
  type AccountChange,
  ADMIN_ONLY_FIELDS,
  adminOnlyChanges,
  requireCredentialsForNewDestination,
} from "../accounts/update-rules.js";
import { requireEgressAllowed, validateAccountConfig } from "../accounts/validate.js";
import { accountView } from "../accounts/view.js";
import { sealCredentials } from "../crypto/credentials.js";
import { providerAccounts } from "../db/schema.js";

type Update = Omit<UpdateAccountRequest, "actor" | "name">;

const FIELDS = [...ADMIN_ONLY_FIELDS, "models", "enabled"] as const;

/** The fields a request carries, for the audit record: names only, never a value. */
function fieldsOf(req: Update): string[] {
  return FIELDS.filter((field) => req[field] !== undefined);
}

/**
 * `PATCH /provider-accounts/:name`. Managers change what is theirs (models, enabled); where the
 * credentials go (type, base URL, credentials, options) is a tenant admin's. `enabled: false` is a
 * revocation like `disable`: it emits `account.disabled` and reports its propagation.
 */
export function accountUpdateRoute(ctx: AccountsContext): Route {
  return route(dispatchAdminAccountsUpdate, async (req) => {
    const { actor, name } = req;
    await requireAccountRole(ctx, actor, name, "manager", "account.update", { fields: fieldsOf(req) });
    const admin = isAdmin(actor);
    if (!admin) {
      const attempted = adminOnlyChanges(req, await loadAccountRow(ctx.db, name));
      if (attempted.length > 0) {
        throw await ctx.changes.deny(
          actor,
          { action: "account.update", targetKind: "provider_account", targetId: name, detail: { attempted } },
          `changing ${attempted.join(", ")} of provider account '${name}' needs a tenant admin; managers may change models and enabled, and grant access`,
        );
      }
    }
    const now = ctx.now();
    return ctx.changes.revoking(async (tx, emit) => {
      const current = await loadAccountRow(tx, name, true);
      // What a manager sent for admin-only fields equals what was stored when checked above; the
      // locked row wins, so a concurrent admin change is never undone by a manager's stale copy.
      const change: AccountChange = admin ? req : {};
      requireCredentialsForNewDestination(change, current);
      const type = (change.type ?? current.type) as ProviderType;
      const baseUrl = change.baseUrl === undefined ? current.baseUrl : change.baseUrl;
      const options = change.options ?? current.options;
      validateAccountConfig(type, { baseUrl, credentials: change.credentials, options });
      if (baseUrl !== null && baseUrl !== current.baseUrl) requireEgressAllowed(ctx.egress, baseUrl);
      const [row] = await tx
        .update(providerAccounts)
        .set({
          type,
          baseUrl,
          options,
          models: req.models ?? current.models,
          enabled: req.enabled ?? current.enabled,
          ...(change.credentials === undefined
            ? {}
            : {
                credentialsCiphertext: sealCredentials(ctx.masterKey, current.id, change.credentials),
                credentialsSet: Object.keys(change.credentials).length > 0,
              }),
          updatedAt: now,
        })
        .where(eq(providerAccounts.id, current.id))
        .returning();
      if (!row) throw new Error("account update returned no row");
      await ctx.changes.audit(
        tx,
        actor,
        {
          action: "account.update",
          targetKind: "provider_account",
          targetId: row.name,
          outcome: "success",
          detail: { changed: fieldsOf(admin ? req : { models: req.models, enabled: req.enabled }) },
        },
        now,
      );
      if (current.enabled && !row.enabled) await emit({ type: "account.disabled", account: row.name });
      return accountView(row);
    });
  });
}
