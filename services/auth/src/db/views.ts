import type { ApiKey, User, VirtualAccount } from "@gatehouse/contracts";
import type { apiKeys, users, virtualAccounts } from "./schema.js";

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function userView(row: typeof users.$inferSelect): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    status: row.status,
    externalId: row.externalId,
    createdAt: row.createdAt.toISOString(),
    deactivatedAt: iso(row.deactivatedAt),
  };
}

export function virtualAccountView(row: typeof virtualAccounts.$inferSelect): VirtualAccount {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    expiresAt: iso(row.expiresAt),
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
  };
}

export function apiKeyView(row: typeof apiKeys.$inferSelect): ApiKey {
  return {
    id: row.id,
    kind: row.kind,
    principalId: (row.kind === "pat" ? row.userId : row.virtualAccountId) ?? "",
    name: row.name,
    displayHint: row.displayHint,
    createdAt: row.createdAt.toISOString(),
    createdBy: row.createdBy,
    expiresAt: iso(row.expiresAt),
    lastUsedAt: iso(row.lastUsedAt),
    revokedAt: iso(row.revokedAt),
    revokedReason: row.revokedReason,
    replacedBy: row.replacedBy,
  };
}
