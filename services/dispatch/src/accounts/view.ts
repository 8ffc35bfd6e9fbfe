import type { ProviderAccount, ProviderType } from "@gatehouse/contracts";
import type { providerAccounts } from "../db/schema.js";

export type AccountRow = typeof providerAccounts.$inferSelect;

/** What the admin view and the invoke path both read of an account (never its credentials). */
export function accountBasics(row: AccountRow) {
  const { id, name, baseUrl, options, models, enabled } = row;
  return { id, name, type: row.type as ProviderType, baseUrl, options, models, enabled };
}

/** The public shape: `credentialsSet` instead of anything derived from the credentials. */
export function accountView(row: AccountRow): ProviderAccount {
  return {
    ...accountBasics(row),
    credentialsSet: row.credentialsSet,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    createdBy: row.createdBy,
  };
}
