import {
  aclAccounts,
  aclAdminGrantsCreate,
  aclAdminTeamMembersAdd,
  aclAdminTeamsCreate,
  type CheckPrincipal,
  type GrantRole,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AclHarness, checkPrincipal, resourceIdOf, startAcl, user, virtualAccount } from "./harness.js";

/**
 * `acl.accounts` answers a page at a time (a principal may hold grants on more accounts than one
 * NATS message holds names). Direct grants and grants through several teams overlap; every page
 * must still list each account once, with its best role, and the pages together must list all.
 */
let h: AclHarness;
const carol = user();
const va = virtualAccount();
const name = (i: number) => `acct-${String(i).padStart(2, "0")}`;
const expected = new Map<string, GrantRole>();

async function grantTo(
  account: string,
  subject: { kind: "user" | "team" | "virtual_account"; id: string },
  role: GrantRole,
) {
  await h.client.request(aclAdminGrantsCreate, {
    actor: h.ids.admin,
    account,
    resourceId: resourceIdOf(account),
    subject,
    role,
  });
}

beforeAll(async () => {
  h = await startAcl();
  const teams: string[] = [];
  for (const t of ["t1", "t2"]) {
    const team = await h.client.request(aclAdminTeamsCreate, { actor: h.ids.admin, name: t });
    await h.client.request(aclAdminTeamMembersAdd, {
      actor: h.ids.admin,
      teamId: team.id,
      userId: carol.id,
    });
    teams.push(team.id);
  }
  const [t1 = "", t2 = ""] = teams;
  // 0..19 direct (user); 10..29 via team 1 (manager on odd); 15..24 via team 2 (user).
  for (let i = 0; i < 20; i++) await grantTo(name(i), { kind: "user", id: carol.id }, "user");
  for (let i = 10; i < 30; i++) await grantTo(name(i), { kind: "team", id: t1 }, i % 2 ? "manager" : "user");
  for (let i = 15; i < 25; i++) await grantTo(name(i), { kind: "team", id: t2 }, "user");
  for (let i = 0; i < 30; i++) expected.set(name(i), i >= 10 && i % 2 ? "manager" : "user");
  for (let i = 0; i < 5; i++) await grantTo(name(i), { kind: "virtual_account", id: va.id }, "user");
  // A team grant never reaches a virtual account, even one whose id were a member's.
  await grantTo(name(40), { kind: "team", id: t1 }, "user");
  expected.set(name(40), "user");
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

async function allPages(principal: CheckPrincipal, limit: number) {
  const out: Array<{ account: string; role: GrantRole }> = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await h.client.request(aclAccounts, { principal, limit, ...(after ? { after } : {}) });
    expect(page.accounts.length).toBeLessThanOrEqual(limit);
    out.push(...page.accounts);
    if (page.next === null) return { out, pages: pages + 1 };
    expect(page.next).toBe(page.accounts.at(-1)?.account);
    after = page.next;
  }
  throw new Error("paging did not end");
}

describe("acl.accounts pages", () => {
  it.each([1, 3, 7, 31, 1000])("list every account once with its best role (limit %i)", async (limit) => {
    const { out, pages } = await allPages(checkPrincipal(carol), limit);
    expect(out).toEqual(
      [...expected].sort(([a], [b]) => (a < b ? -1 : 1)).map(([account, role]) => ({ account, role })),
    );
    expect(pages).toBe(Math.max(1, Math.ceil(expected.size / limit)));
  });

  it("give a virtual account its direct grants only", async () => {
    const { out } = await allPages(checkPrincipal(va), 2);
    expect(out.map((a) => a.account)).toEqual([0, 1, 2, 3, 4].map(name));
  });
});
