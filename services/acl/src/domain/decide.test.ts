import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { accountRoles, decide } from "./decide.js";

const member = { id: randomUUID(), kind: "user" as const, role: "member" as const };
const va = { id: randomUUID(), kind: "virtual_account" as const, role: "member" as const };

describe("decide", () => {
  it("prefers the highest role, naming a direct grant over a team grant of the same role", () => {
    expect(
      decide(
        member,
        [
          { account: "a", role: "user", via: "team" },
          { account: "a", role: "user", via: "direct" },
        ],
        "user",
      ),
    ).toEqual({ allowed: true, reason: "direct_grant", role: "user" });
    expect(
      decide(
        member,
        [
          { account: "a", role: "user", via: "direct" },
          { account: "a", role: "manager", via: "team" },
        ],
        "manager",
      ),
    ).toEqual({ allowed: true, reason: "team_grant", role: "manager" });
  });

  it("ignores team grants for virtual accounts", () => {
    expect(decide(va, [{ account: "a", role: "manager", via: "team" }], "user")).toEqual({
      allowed: false,
      reason: "no_grant",
    });
  });

  it("a user role does not satisfy a manager requirement", () => {
    expect(decide(member, [{ account: "a", role: "user", via: "direct" }], "manager").allowed).toBe(false);
  });

  it("tenant admins are allowed as managers without grants", () => {
    expect(decide({ ...member, role: "admin" }, [], "manager")).toEqual({
      allowed: true,
      reason: "tenant_admin",
      role: "manager",
    });
  });

  it("lists each account once with its best role, sorted", () => {
    expect(
      accountRoles([
        { account: "b", role: "user", via: "direct" },
        { account: "a", role: "user", via: "team" },
        { account: "b", role: "manager", via: "team" },
      ]),
    ).toEqual([
      { account: "a", role: "user" },
      { account: "b", role: "manager" },
    ]);
  });
});
