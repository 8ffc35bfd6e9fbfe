import { BusClient, connectBus } from "@gatehouse/bus";
import { aclQuotaBudgetReturn } from "@gatehouse/contracts";
import { generateKey } from "@gatehouse/keys";
import { captureLogger } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { grant, must, newVirtualAccount } from "./access-api.js";

/**
 * A replica that stops gracefully gives its unused budget slices back (docs/governance.md, "The
 * bound"): what it leased and did not spend can be leased by the replicas that stay. Slices are 90 %
 * of a budget, so one replica's slice leaves the others less than a call's pre-charge. The mock
 * provider answers "hi" with 2 prompt and 2 completion tokens at $0.001 a token: $0.004 a call,
 * pre-charged ~$0.03 (its JSON at 4 bytes a token, and max_tokens 8).
 */
let stack: TestStack;
const adminKey = generateKey("pat");
const ACCOUNT = "return-mock";
const CALL_USD = 0.004;

beforeAll(async () => {
  stack = await startTestStack({
    ingressReplicas: 3,
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey, QUOTA_SLICE_FRACTION: "0.9" },
  });
  const price = { input_price_per_mtok: 1_000, output_price_per_mtok: 1_000 };
  await must(
    stack,
    adminKey,
    "POST",
    "/api/v1/provider-accounts",
    { name: ACCOUNT, type: "mock", models: [{ name: "echo", kind: "chat", ...price }] },
    201,
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function chat(replica: number, key: string): Promise<number> {
  const res = await fetch(`${stack.ingress[replica]?.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: `${ACCOUNT}/echo`,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 8,
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

/** acl's own endpoint, as a replica would ask it. */
async function giveBack(budgetId: string, periodStart: number, microUsd: number): Promise<number> {
  const { logger } = captureLogger("budget-return");
  const bus = await connectBus({ url: stack.env.NATS_URL ?? "", name: "budget-return", logger });
  try {
    const client = new BusClient(bus.nc, stack.prefix);
    return (await client.request(aclQuotaBudgetReturn, { budgetId, periodStart, microUsd })).microUsd;
  } finally {
    await bus.drain();
  }
}

describe("a replica stopping gracefully", () => {
  it("gives back its unused budget slice: another replica admits calls up to what is left; a return for an ended period changes nothing", async () => {
    // Replica 0 serves the admin API (stack.url) and stays; replica 2 is the one that stops.
    const [stays, refused, stops] = [0, 1, 2];
    const { va, key } = await newVirtualAccount(stack, adminKey, `return-${Date.now()}`);
    await grant(stack, adminKey, ACCOUNT, { kind: "virtual_account", id: va.id });
    const budget = await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/budgets",
      { subject: { kind: "virtual_account", id: va.id }, max_usd: 0.1, period: "month" },
      201,
    );
    // It leases $0.09 of the $0.10 for one call and spends $0.004 of it.
    expect(await chat(stops, key)).toBe(200);

    // Giving the slice back to last month's period does nothing: another replica finds $0.01 left.
    const now = new Date();
    const lastMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
    expect(await giveBack(budget.id, lastMonth, 90_000)).toBe(0);
    expect(await chat(refused, key)).toBe(429);

    await stack.ingress[stops]?.stop();
    expect(stack.logs.text()).toContain("budget slices returned");

    // A third replica leases what the stopped one held: calls until less than a pre-charge is left.
    const statuses: number[] = [];
    for (let i = 0; i < 40 && statuses.at(-1) !== 429; i++) statuses.push(await chat(stays, key));
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.slice(0, -1).every((s) => s === 200)).toBe(true);
    const admitted = statuses.length - 1;
    // Without the return it would have nothing. With it, it spends the budget but for the refused
    // replica's $0.01 and less than one pre-charge (< $0.04), never more than that $0.01 leaves.
    expect(admitted * CALL_USD).toBeGreaterThan(0.1 - 0.01 - CALL_USD - 0.04);
    expect((admitted + 1) * CALL_USD).toBeLessThanOrEqual(0.1 - 0.01 + 1e-9);
  });
});
