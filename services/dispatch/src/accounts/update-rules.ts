import {
  type AccountOptions,
  type Credentials,
  GatehouseError,
  type ProviderType,
} from "@gatehouse/contracts";

/**
 * The fields that decide where an account's credentials are sent and how: only tenant admins change
 * them. A manager who could point `baseUrl` at a host of their choosing would receive the stored key.
 */
export const ADMIN_ONLY_FIELDS = ["type", "baseUrl", "credentials", "options"] as const;
export type AdminOnlyField = (typeof ADMIN_ONLY_FIELDS)[number];

export interface AccountChange {
  type?: ProviderType | undefined;
  baseUrl?: string | null | undefined;
  credentials?: Credentials | undefined;
  options?: AccountOptions | undefined;
}

export interface StoredAccount {
  type: string;
  baseUrl: string | null;
  options: AccountOptions;
  credentialsSet: boolean;
}

/** JSON equality with object keys in any order (options come back from the API and may be re-sent). */
function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  };
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/**
 * The admin-only fields this request would change. A field sent with its stored value changes
 * nothing (a client may send back what it read); credentials always count, since no API shows them.
 */
export function adminOnlyChanges(change: AccountChange, stored: StoredAccount): AdminOnlyField[] {
  const changed: Record<AdminOnlyField, boolean> = {
    type: change.type !== undefined && change.type !== stored.type,
    baseUrl: change.baseUrl !== undefined && change.baseUrl !== stored.baseUrl,
    credentials: change.credentials !== undefined,
    options: change.options !== undefined && !sameJson(change.options, stored.options),
  };
  return ADMIN_ONLY_FIELDS.filter((field) => changed[field]);
}

/**
 * Credentials are bound to the destination they were given for: a change of base URL or type (which
 * decides the default host and how the key is sent) must carry the credentials again, or clear them
 * (`{}`). An account without credentials (a local Ollama) may move freely: there is nothing to leak.
 */
export function requireCredentialsForNewDestination(change: AccountChange, stored: StoredAccount): void {
  if (change.credentials !== undefined || !stored.credentialsSet) return;
  const moved = adminOnlyChanges(change, stored);
  if (moved.includes("baseUrl")) {
    throw new GatehouseError(
      "validation_failed",
      "credentials must be given again for the new base_url: stored credentials are only sent to the URL they were given for",
    );
  }
  if (moved.includes("type")) {
    throw new GatehouseError(
      "validation_failed",
      "credentials must be given again for the new type: stored credentials are only sent to the provider they were given for",
    );
  }
}
