import { generateKey } from "@gatehouse/keys";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, grant, must, newVirtualAccount } from "./access-api.js";

/**
 * Every ingress replica caches provider accounts one by one. Disabling or deleting an account drops
 * it from every replica's cache before the admin call returns; an added model or a re-enabled
 * account is found by every replica without waiting for the cache's TTL.
 */
let stack: TestStack;
const adminKey = generateKey("pat");
let appKey: string;

beforeAll(async () => {
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey }, ingressReplicas: 3 });
  for (const name of ["team-a", "team-b"]) await createAccount(stack, adminKey, name, ["echo"]);
  const app = await newVirtualAccount(stack, adminKey, "replicated-app");
  for (const name of ["team-a", "team-b"]) {
    await grant(stack, adminKey, name, { kind: "virtual_account", id: app.va.id });
  }
  appKey = app.key;
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

async function retrieve(replica: number, id: string): Promise<number> {
  const res = await fetch(`${stack.ingress[replica]?.url}/v1/models/${id}`, {
    headers: { authorization: `Bearer ${appKey}` },
  });
  await res.arrayBuffer();
  return res.status;
}

describe("the per-account catalog cache on three replicas", () => {
  it("drops a disabled account on every replica before the disable returns", async () => {
    // Warm every replica's cache; within the cache's 5 s TTL only the event can change its answer.
    for (let r = 0; r < 3; r++)
      for (const id of ["team-a/echo", "team-b/echo"]) expect(await retrieve(r, id)).toBe(200);

    await must(stack, adminKey, "POST", "/api/v1/provider-accounts/team-a/disable");
    for (let r = 0; r < 3; r++) expect(await retrieve(r, "team-a/echo")).toBe(403);
    for (let r = 0; r < 3; r++) expect(await retrieve(r, "team-b/echo")).toBe(200);
  });

  it("finds a re-enabled account and an added model on the other replicas", async () => {
    await must(stack, adminKey, "POST", "/api/v1/provider-accounts/team-a/enable");
    await must(stack, adminKey, "PATCH", "/api/v1/provider-accounts/team-b", {
      models: [
        { name: "echo", kind: "chat" },
        { name: "echo-2", kind: "chat" },
      ],
    });
    for (let r = 0; r < 3; r++) {
      await waitFor(async () => (await retrieve(r, "team-a/echo")) === 200, 10_000);
      await waitFor(async () => (await retrieve(r, "team-b/echo-2")) === 200, 10_000);
    }
  });

  it("drops a deleted account on every replica", async () => {
    for (let r = 0; r < 3; r++) expect(await retrieve(r, "team-b/echo")).toBe(200);
    await must(stack, adminKey, "DELETE", "/api/v1/provider-accounts/team-b");
    for (let r = 0; r < 3; r++) expect(await retrieve(r, "team-b/echo")).toBe(404);
  });
});
