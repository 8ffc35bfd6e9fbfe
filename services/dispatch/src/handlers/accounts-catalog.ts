import { type Route, route } from "@gatehouse/bus";
import { dispatchCatalog } from "@gatehouse/contracts";
import { asc } from "drizzle-orm";
import type { AccountsContext } from "../accounts/context.js";
import { providerAccounts } from "../db/schema.js";

/**
 * What ingress resolves `<account>/<model>` against: names, enabled flags and model names/kinds.
 * Disabled accounts are included so ingress can answer 403 (not 404) for them.
 */
export function catalogRoutes(ctx: AccountsContext): Route[] {
  return [
    route(dispatchCatalog, async () => {
      const rows = await ctx.db
        .select({
          name: providerAccounts.name,
          enabled: providerAccounts.enabled,
          createdAt: providerAccounts.createdAt,
          models: providerAccounts.models,
        })
        .from(providerAccounts)
        .orderBy(asc(providerAccounts.name));
      return {
        accounts: rows.map((r) => ({
          name: r.name,
          enabled: r.enabled,
          createdAt: r.createdAt.toISOString(),
          models: r.models.map((m) => ({ name: m.name, kind: m.kind })),
        })),
      };
    }),
  ];
}
