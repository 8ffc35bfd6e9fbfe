import { generateKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, must, teamOnAccount } from "./access-api.js";
import { newMember } from "./identity-api.js";

/**
 * A team default applies once per team whose grant allowed the call: a member of many such teams
 * has as many limits on one call, each with an empty slice when a window starts. Far below every
 * one of them, the call is admitted, however many teams it counts for.
 */
let stack: TestStack;
let adminKey: string;
const ACCOUNT = "dl-many-teams";
/** More teams than a call used to lease slices for before it gave up with 429. */
const TEAMS = 40;

beforeAll(async () => {
  adminKey = generateKey("pat");
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey } });
  await createAccount(stack, adminKey, ACCOUNT, ["echo"]);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe("a member of many teams under a team default", () => {
  it(`is admitted far below the limit through ${TEAMS} teams' grants`, async () => {
    await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/rate-limits",
      {
        subject: { kind: "team", default: true },
        scope: { provider_account: ACCOUNT },
        requests_per_minute: 1_000,
      },
      201,
    );
    const member = await newMember(stack, adminKey, "many");
    for (let i = 0; i < TEAMS; i++) {
      await teamOnAccount(stack, adminKey, `many-${i}-${Date.now()}`, member.user.id, ACCOUNT);
    }
    const res = await fetch(`${stack.ingress[0]?.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${member.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: `${ACCOUNT}/echo`, messages: [{ role: "user", content: "hi" }] }),
    });
    const body = await res.text();
    expect(res.status, body).toBe(200);
    // Each team's own window was charged the call.
    expect(res.headers.get("x-ratelimit-remaining-requests")).not.toBeNull();
  }, 120_000);
});
