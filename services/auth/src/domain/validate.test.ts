import { describe, expect, it } from "vitest";
import { judgeKey, type KeyRecord, rotationOf } from "./validate.js";

const now = new Date("2030-01-01T00:00:00.000Z");
const policy = { positiveTtlMs: 60_000, negativeTtlMs: 5_000 };
const later = (ms: number) => new Date(now.getTime() + ms);
const user = { kind: "user", id: "u1", name: "Ada", role: "admin", status: "active" } as const;
const va = { kind: "virtual_account", id: "v1", name: "ci", expiresAt: null, deletedAt: null } as const;

function pat(over: Partial<KeyRecord> = {}): KeyRecord {
  return { id: "k1", kind: "pat", expiresAt: null, revokedAt: null, owner: user, ...over };
}

describe("judgeKey", () => {
  it("refuses an unknown key with the negative TTL", () => {
    expect(judgeKey(undefined, now, policy)).toEqual({ outcome: "unknown", cacheTtlMs: 5_000 });
  });

  it("accepts a live key and caps the cache TTL at the key's expiry", () => {
    expect(judgeKey(pat({ expiresAt: later(1_500) }), now, policy)).toEqual({
      outcome: "valid",
      principal: { id: "u1", kind: "user", name: "Ada", role: "admin" },
      cacheTtlMs: 1_500,
    });
  });

  it("caps a VAT's TTL at its virtual account's expiry and makes it a member", () => {
    const v = judgeKey(pat({ kind: "vat", owner: { ...va, expiresAt: later(900) } }), now, policy);
    expect(v).toMatchObject({ outcome: "valid", cacheTtlMs: 900, principal: { role: "member" } });
  });

  it("orders refusals: deactivated user, then revoked, then account expiry, then key expiry", () => {
    const deactivated = { ...user, status: "deactivated" } as const;
    const both = pat({ revokedAt: now, expiresAt: later(-1), owner: deactivated });
    expect(judgeKey(both, now, policy).outcome).toBe("principal_deactivated");
    expect(judgeKey(pat({ revokedAt: now, expiresAt: later(-1) }), now, policy).outcome).toBe("revoked");
    const vatOf = (owner: KeyRecord["owner"]) => pat({ kind: "vat", expiresAt: now, owner });
    expect(judgeKey(vatOf({ ...va, expiresAt: now }), now, policy).outcome).toBe("virtual_account_expired");
    expect(judgeKey(vatOf({ ...va, deletedAt: now }), now, policy).outcome).toBe("revoked");
    expect(judgeKey(pat({ expiresAt: now }), now, policy).outcome).toBe("expired");
  });
});

describe("rotationOf", () => {
  it("revokes at once with zero grace", () => {
    expect(rotationOf(null, now, 0)).toEqual({ revokeNow: true });
  });

  it("keeps the old key for the grace period, never past its own expiry", () => {
    expect(rotationOf(null, now, 60)).toEqual({ revokeNow: false, expiresAt: later(60_000) });
    expect(rotationOf(later(10_000), now, 60)).toEqual({ revokeNow: false, expiresAt: later(10_000) });
  });
});
