import { randomUUID } from "node:crypto";
import {
  aclAdminRateLimitsCreate,
  aclLimitsMine,
  aclQuotaLease,
  RATE_LIMITS_PER_SUBJECT_MAX,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AclHarness, startAcl } from "./harness.js";

let h: AclHarness;

beforeAll(async () => {
  h = await startAcl();
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

const create = (subject: { kind: "user" | "team" | "virtual_account"; id: string | null }, extra = {}) =>
  h.client.request(aclAdminRateLimitsCreate, {
    actor: h.ids.admin,
    subject,
    requestsPerMinute: 5,
    failOpen: false,
    ...extra,
  });

describe("a default limit per subject kind", () => {
  it("counts every subject in windows of its own, never one shared pool", async () => {
    const limit = await create({ kind: "team", id: null }, { requestsPerMinute: 3 });
    expect(limit.subject).toEqual({ kind: "team", id: null });
    const [a, b] = [randomUUID(), randomUUID()];
    const lease = (subjectId: string) =>
      h.client.request(aclQuotaLease, { limitId: limit.id, subjectId, requests: 3, tokens: 0 });
    // A window can end between two leases: ask again in a fresh one until both fell in one.
    for (let attempt = 0; ; attempt++) {
      const first = await lease(a);
      const again = await lease(a);
      const other = await lease(b);
      if ((first.windowStart !== again.windowStart || again.windowStart !== other.windowStart) && attempt < 3)
        continue;
      expect(first.requests).toBe(3);
      expect(again.requests).toBe(0);
      expect(other.requests).toBe(3);
      expect(other.remainingRequests).toBe(0);
      break;
    }
  });

  it("is not leased without the subject it counts for", async () => {
    const limit = await create({ kind: "virtual_account", id: null });
    await expect(
      h.client.request(aclQuotaLease, { limitId: limit.id, requests: 1, tokens: 0 }),
    ).rejects.toMatchObject({ code: "invalid_request" });
  });

  it("shows a caller the defaults of its kind unless a limit of its own has the same scope", async () => {
    const member = await h.ids.user();
    const scoped = { account: `acct-${randomUUID().slice(0, 8)}` };
    const unscoped = await create({ kind: "user", id: null }, { requestsPerMinute: 7 });
    const replaced = await create({ kind: "user", id: null }, { ...scoped, requestsPerMinute: 8 });
    const own = await create({ kind: "user", id: member.principal.id }, { ...scoped, requestsPerMinute: 9 });
    const mine = await h.client.request(aclLimitsMine, { actor: member });
    const ids = mine.rateLimits.map((l) => l.id);
    expect(ids).toEqual(expect.arrayContaining([unscoped.id, own.id]));
    expect(ids).not.toContain(replaced.id);
  });
});

describe("the per-subject cap", () => {
  it(`refuses a subject a limit past ${RATE_LIMITS_PER_SUBJECT_MAX} with a conflict, and a kind's defaults alike`, async () => {
    const subject = { kind: "virtual_account" as const, id: randomUUID() };
    for (let i = 0; i < RATE_LIMITS_PER_SUBJECT_MAX; i++) await create(subject, { account: `a${i}` });
    await expect(create(subject, { account: "one-more" })).rejects.toMatchObject({ code: "conflict" });
    // Another subject still has room.
    await expect(create({ kind: "virtual_account", id: randomUUID() })).resolves.toMatchObject({});

    const held = (await h.client.request(aclLimitsMine, { actor: h.ids.admin })).rateLimits.filter(
      (l) => l.subject.id === null && l.subject.kind === "user",
    ).length;
    for (let i = held; i < RATE_LIMITS_PER_SUBJECT_MAX; i++)
      await create({ kind: "user", id: null }, { account: `d${i}` });
    await expect(create({ kind: "user", id: null }, { account: "one-more" })).rejects.toMatchObject({
      code: "conflict",
    });
  }, 60_000);
});
