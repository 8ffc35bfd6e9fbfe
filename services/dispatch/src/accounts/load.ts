import {
  type AccountModel,
  type AccountOptions,
  type Credentials,
  GatehouseError,
  type ProviderType,
} from "@gatehouse/contracts";
import { eq } from "drizzle-orm";
import { openCredentials } from "../crypto/credentials.js";
import { providerAccounts } from "../db/schema.js";
import type { DispatchDb, DispatchTx } from "./context.js";
import { type AccountRow, accountBasics } from "./view.js";

/** The stored row for the admin API (credentials stay sealed); `not_found` when there is none. */
export async function loadAccountRow(
  db: DispatchDb | DispatchTx,
  name: string,
  forUpdate = false,
): Promise<AccountRow> {
  const query = db.select().from(providerAccounts).where(eq(providerAccounts.name, name));
  const [row] = forUpdate ? await query.for("update") : await query;
  if (!row) throw new GatehouseError("not_found", `provider account '${name}' not found`);
  return row;
}

/** Everything needed to call a provider for one account, credentials decrypted. Keep it in memory only. */
export interface LoadedAccount {
  id: string;
  name: string;
  type: ProviderType;
  baseUrl: string | null;
  options: AccountOptions;
  credentials: Credentials;
  models: AccountModel[];
  /** The invoke path must refuse a disabled account even if ingress let the request through. */
  enabled: boolean;
}

/**
 * Load an account by name and decrypt its credentials (for `dispatch.invoke`). `undefined` when no
 * such account exists; throws `internal_error` when the ciphertext does not authenticate.
 */
export async function loadAccount(
  db: DispatchDb,
  masterKey: Buffer,
  name: string,
): Promise<LoadedAccount | undefined> {
  const [row] = await db.select().from(providerAccounts).where(eq(providerAccounts.name, name));
  if (!row) return undefined;
  return {
    ...accountBasics(row),
    credentials: openCredentials(masterKey, row.id, row.credentialsCiphertext),
  };
}
