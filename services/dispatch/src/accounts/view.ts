import type { ProviderAccount, ProviderType } from "@gatehouse/contracts";
import type { providerAccounts } from "../db/schema.js";

export type AccountRow = typeof providerAccounts.$inferSelect;

/** The public shape: `credentialsSet` instead of anything derived from the credentials. */
export function accountView(row: AccountRow): ProviderAccount {
  return {
    id: row.id,
    name: row.name,
    type: row.type as ProviderType,
    baseUrl: row.baseUrl,
    options: row.options,
    credentialsSet: row.credentialsSet,
    models: row.models,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    createdBy: row.createdBy,
  };
}
