import { generateKey } from "@gatehouse/keys";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { grant, must, newVirtualAccount } from "./access-api.js";
import { startShippedNats } from "./bus-auth.js";

/**
 * Budgets under the shipped bus permissions (infra/nats/nats.conf): acl, as its own NATS user, joins
 * the usage stream with its durable consumer and counts what the calls cost; a stopping replica gives
 * its slice back.
 */
let nats: Awaited<ReturnType<typeof startShippedNats>>;
let stack: TestStack;
const adminKey = generateKey("pat");

beforeAll(async () => {
  nats = await startShippedNats();
  stack = await startTestStack({
    natsUrl: nats.url,
    // The shipped file permits the default prefix.
    prefix: "gatehouse",
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey, USAGE_FLUSH_MS: "50" },
    serviceEnv: nats.serviceUsers(),
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  await nats?.stop();
});

it("acl counts the cost of calls against a budget as its own NATS user", async () => {
  await must(
    stack,
    adminKey,
    "POST",
    "/api/v1/provider-accounts",
    {
      name: "priced",
      type: "mock",
      models: [{ name: "echo", kind: "chat", input_price_per_mtok: 1_000, output_price_per_mtok: 1_000 }],
    },
    201,
  );
  const { va, key } = await newVirtualAccount(stack, adminKey, "budgeted");
  await grant(stack, adminKey, "priced", { kind: "virtual_account", id: va.id });
  const budget = await must(
    stack,
    adminKey,
    "POST",
    "/api/v1/budgets",
    { subject: { kind: "virtual_account", id: va.id }, max_usd: 5, period: "day" },
    201,
  );
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "priced/echo", messages: [{ role: "user", content: "hi" }] }),
  });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  // "hi" costs 2 prompt and 2 completion tokens at $0.001 each.
  await waitFor(
    async () => (await must(stack, adminKey, "GET", `/api/v1/budgets/${budget.id}`)).spent_usd > 0,
    30_000,
    100,
  );
  expect((await must(stack, adminKey, "GET", `/api/v1/budgets/${budget.id}`)).spent_usd).toBeCloseTo(
    0.004,
    9,
  );
  expect(nats.log()).not.toContain('User "acl"');
  // Stopping, the replica gives its slice back: a subject ingress may ask on and acl answers.
  await stack.ingress[0]?.stop();
  expect(stack.logs.text()).toContain("budget slices returned");
  expect(nats.log()).not.toContain("quota.budget_return");
});
