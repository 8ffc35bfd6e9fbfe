import { randomUUID } from "node:crypto";
import { aclAdminRateLimitsCreate, RATE_LIMITS_MAX } from "@gatehouse/contracts";
import { describe, expect, it } from "vitest";
import { rateLimits } from "../src/db/schema.js";
import { aclForFile } from "./harness.js";

const acl = aclForFile();

describe("the gateway's cap on rate limits", () => {
  it("holds when admins create limits at the same moment", async () => {
    // All but two of the cap already held (written directly: thousands of creates would take minutes).
    const rows = Array.from({ length: RATE_LIMITS_MAX - 2 }, () => ({
      id: randomUUID(),
      subjectKind: "user" as const,
      subjectId: randomUUID(),
      requestsPerMinute: 10,
      failOpen: false,
      createdAt: new Date(),
    }));
    const orm = acl.db.drizzle({ rateLimits });
    for (let at = 0; at < rows.length; at += 1_000) {
      await orm.insert(rateLimits).values(rows.slice(at, at + 1_000));
    }
    const create = () =>
      acl.h.client.request(
        aclAdminRateLimitsCreate,
        {
          actor: acl.h.ids.admin,
          subject: { kind: "user", id: randomUUID() },
          requestsPerMinute: 5,
          failOpen: false,
        },
        { timeoutMs: 30_000 },
      );
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, create));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(2);
    for (const o of outcomes) {
      if (o.status === "rejected") expect(o.reason).toMatchObject({ code: "conflict" });
    }
    const held = await orm.$count(rateLimits);
    expect(held).toBe(RATE_LIMITS_MAX);
  }, 120_000);
});
