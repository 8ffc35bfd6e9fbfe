import { generateKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, must, newVirtualAccount } from "./access-api.js";
import { newMember } from "./identity-api.js";

/**
 * Clients that always send `content-type: application/json` (curl with a default header, many HTTP
 * libraries) call body-less admin actions with that header and nothing after it.
 */
let stack: TestStack;
const adminKey = generateKey("pat");

beforeAll(async () => {
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey } });
});
afterAll(async () => {
  await stack?.stop();
});

async function emptyJson(method: string, path: string) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: "",
  });
  return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
}

describe("body-less admin actions with an empty JSON body", () => {
  it("are accepted: deactivate, reactivate, revoke-all, disable, enable and the deletes", async () => {
    const member = await newMember(stack, adminKey, "leaver");
    await createAccount(stack, adminKey, "team-acct", ["m"]);
    const { va } = await newVirtualAccount(stack, adminKey, "bot");
    const team = await must(stack, adminKey, "POST", "/api/v1/teams", { name: "t" }, 201);
    for (const [method, path] of [
      ["POST", `/api/v1/users/${member.user.id}/deactivate`],
      ["POST", `/api/v1/users/${member.user.id}/reactivate`],
      ["POST", `/api/v1/users/${member.user.id}/personal-access-tokens/revoke-all`],
      ["POST", "/api/v1/provider-accounts/team-acct/disable"],
      ["POST", "/api/v1/provider-accounts/team-acct/enable"],
      ["DELETE", `/api/v1/personal-access-tokens/${member.tokenId}`],
      ["DELETE", `/api/v1/teams/${team.id}`],
      ["DELETE", `/api/v1/virtual-accounts/${va.id}`],
      ["DELETE", "/api/v1/provider-accounts/team-acct"],
    ] as const) {
      const res = await emptyJson(method, path);
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });

  it("still validate: an action that needs a body says so with 422, and broken JSON is 400", async () => {
    const missing = await emptyJson("POST", "/api/v1/users");
    expect(missing.status).toBe(422);
    expect(missing.body.error?.code).toBe("validation_failed");
    const broken = await fetch(`${stack.url}/api/v1/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: "{",
    });
    expect(broken.status).toBe(400);
    const poisoned = await fetch(`${stack.url}/api/v1/users`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: '{"__proto__":{"role":"admin"},"email":"x@example.com"}',
    });
    expect(poisoned.status).toBe(400);
  });
});
