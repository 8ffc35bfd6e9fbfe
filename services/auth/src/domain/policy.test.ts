import { requireAdmin } from "@gatehouse/access-events";
import type { Actor } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { patOwnerFor, requirePatOwnerOrAdmin, requireSelfOrAdmin } from "./policy.js";

const U1 = "00000000-0000-4000-8000-000000000001";
const U2 = "00000000-0000-4000-8000-000000000002";
const K = "00000000-0000-4000-8000-0000000000ff";
const actor = (kind: "user" | "virtual_account", role: "admin" | "member", id = U1): Actor => ({
  principal: { id, kind, name: "x", role },
  keyId: K,
  keyHash: "0".repeat(64),
  requestId: "r",
});

describe("policy", () => {
  it("admins may do anything", () => {
    const admin = actor("user", "admin");
    expect(() => requireAdmin(admin)).not.toThrow();
    expect(patOwnerFor(admin, U2)).toBe(U2);
    expect(() => requirePatOwnerOrAdmin(admin, U2)).not.toThrow();
  });

  it("members manage only their own PATs and read only themselves", () => {
    const member = actor("user", "member");
    expect(patOwnerFor(member, undefined)).toBe(U1);
    expect(patOwnerFor(member, U1)).toBe(U1);
    expect(() => patOwnerFor(member, U2)).toThrow(expect.objectContaining({ code: "permission_denied" }));
    expect(() => requirePatOwnerOrAdmin(member, U2)).toThrow(
      expect.objectContaining({ code: "permission_denied" }),
    );
    expect(() => requireSelfOrAdmin(member, U1)).not.toThrow();
    expect(() => requireSelfOrAdmin(member, U2)).toThrow(
      expect.objectContaining({ code: "permission_denied" }),
    );
    expect(() => requireAdmin(member)).toThrow(expect.objectContaining({ code: "permission_denied" }));
  });

  it("virtual accounts have no PATs and no admin rights, even if a role slipped through", () => {
    const vat = actor("virtual_account", "admin");
    expect(() => requireAdmin(vat)).toThrow(expect.objectContaining({ code: "permission_denied" }));
    expect(() => patOwnerFor(vat, undefined)).toThrow(expect.objectContaining({ code: "permission_denied" }));
  });
});
