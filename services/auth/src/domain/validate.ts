import type { Principal, ValidateRefusal } from "@gatehouse/contracts";

/** What the key lookup returns: the key row joined with its owner. */
export interface KeyRecord {
  id: string;
  kind: "pat" | "vat";
  expiresAt: Date | null;
  revokedAt: Date | null;
  owner:
    | { kind: "user"; id: string; name: string; role: "admin" | "member"; status: "active" | "deactivated" }
    | { kind: "virtual_account"; id: string; name: string; expiresAt: Date | null; deletedAt: Date | null };
}

export type Verdict =
  | { outcome: "valid"; principal: Principal; cacheTtlMs: number }
  | { outcome: ValidateRefusal; cacheTtlMs: number };

export interface VerdictPolicy {
  /** Upper bound on how long ingress may cache a positive answer. */
  positiveTtlMs: number;
  /** How long ingress may cache a refusal (unknown keys); refusals are final otherwise. */
  negativeTtlMs: number;
}

/**
 * Decide a key's fate. Order matters: a revoked key says "revoked" even once it has also expired,
 * because that is the actionable fact for whoever holds it.
 */
export function judgeKey(record: KeyRecord | undefined, now: Date, policy: VerdictPolicy): Verdict {
  const refuse = (outcome: ValidateRefusal): Verdict => ({ outcome, cacheTtlMs: policy.negativeTtlMs });
  if (!record) return refuse("unknown");
  const owner = record.owner;
  // A deactivated user's PATs are also revoked (so reactivation cannot revive them); while the user
  // stays deactivated that is the more useful thing to tell the key's holder.
  if (owner.kind === "user" && owner.status !== "active") return refuse("principal_deactivated");
  if (record.revokedAt) return refuse("revoked");
  if (owner.kind === "virtual_account" && owner.deletedAt) return refuse("revoked");
  if (owner.kind === "virtual_account" && owner.expiresAt && owner.expiresAt <= now) {
    return refuse("virtual_account_expired");
  }
  if (record.expiresAt && record.expiresAt <= now) return refuse("expired");

  // A cached answer must not outlive the key or its virtual account.
  let ttl = policy.positiveTtlMs;
  for (const end of [record.expiresAt, owner.kind === "virtual_account" ? owner.expiresAt : null]) {
    if (end) ttl = Math.min(ttl, end.getTime() - now.getTime());
  }
  const principal: Principal = {
    id: owner.id,
    kind: owner.kind,
    name: owner.name,
    // Virtual accounts are always `member`: their reach comes from their own grants only.
    role: owner.kind === "user" ? owner.role : "member",
  };
  return { outcome: "valid", principal, cacheTtlMs: Math.max(0, Math.floor(ttl)) };
}

/**
 * Regenerating a VAT: the old key stays valid for the grace period (never longer than it would
 * have anyway); a zero grace revokes it at once.
 */
export function rotationOf(
  oldExpiresAt: Date | null,
  now: Date,
  graceSeconds: number,
): { revokeNow: true } | { revokeNow: false; expiresAt: Date } {
  if (graceSeconds <= 0) return { revokeNow: true };
  const graceEnd = new Date(now.getTime() + graceSeconds * 1000);
  return { revokeNow: false, expiresAt: oldExpiresAt && oldExpiresAt < graceEnd ? oldExpiresAt : graceEnd };
}
