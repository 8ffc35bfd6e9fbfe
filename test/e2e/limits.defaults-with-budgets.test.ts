import { generateKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, grant, must, newVirtualAccount } from "./access-api.js";
import { call } from "./identity-api.js";

/**
 * A default rate limit and a budget on the same call (docs/governance.md, "Budgets"): both apply,
 * whichever is spent refuses with its own code (`rate_limited` with Retry-After, or
 * `insufficient_quota` with `x-should-retry: false`), a refusal by one takes nothing from the other,
 * and `GET /api/v1/me/limits` lists the default and the budget. The mock answers "hi" with 4
 * tokens; the model costs $0.001 a token, so a call with `max_tokens: 8` is pre-charged about $0.03.
 */
let stack: TestStack;
let adminKey: string;
const ACCOUNT = "dlb-mock";
const TOKEN_USD = 0.001;
const PER_MINUTE = 3;

beforeAll(async () => {
  adminKey = generateKey("pat");
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey } });
  await createAccount(stack, adminKey, ACCOUNT, ["echo"], TOKEN_USD * 1e6);
  await must(
    stack,
    adminKey,
    "POST",
    "/api/v1/rate-limits",
    {
      subject: { kind: "virtual_account", default: true },
      scope: { provider_account: ACCOUNT },
      requests_per_minute: PER_MINUTE,
    },
    201,
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function app(name: string, maxUsd: number) {
  const { va, key } = await newVirtualAccount(stack, adminKey, `${name}-${Date.now()}`);
  await grant(stack, adminKey, ACCOUNT, { kind: "virtual_account", id: va.id });
  const budget = await must(
    stack,
    adminKey,
    "POST",
    "/api/v1/budgets",
    { subject: { kind: "virtual_account", id: va.id }, max_usd: maxUsd, period: "day" },
    201,
  );
  return { key, budgetId: budget.id as string };
}

async function chat(key: string) {
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: `${ACCOUNT}/echo`,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 8,
    }),
  });
  const body = (await res.json()) as { error?: { code: string } };
  return { res, code: body.error?.code };
}

/**
 * The default rate limit's window is a UTC minute: a test that counts its calls starts early in
 * one, so all of them fall in the same window (bounded: at most one minute's wait).
 */
async function earlyInMinute(): Promise<void> {
  const into = Date.now() % 60_000;
  if (into > 40_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - into + 100));
}

describe("a default rate limit beside a budget", () => {
  it("refuses with rate_limited when the default's window is spent and the budget is not", async () => {
    const { key } = await app("dlb-rate", 100);
    await earlyInMinute();
    for (let i = 0; i < PER_MINUTE; i++) {
      const { res } = await chat(key);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-gatehouse-budget-remaining-usd")).not.toBeNull();
      expect(res.headers.get("x-ratelimit-limit-requests")).toBe(String(PER_MINUTE));
    }
    const { res, code } = await chat(key);
    expect(res.status).toBe(429);
    expect(code).toBe("rate_limited");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(res.headers.get("x-should-retry")).not.toBe("false");
  }, 120_000);

  it("refuses with insufficient_quota when the budget is spent, taking nothing from the default", async () => {
    // $0.01 is less than one call's pre-charge: the budget refuses every call.
    const { key, budgetId } = await app("dlb-budget", 0.01);
    await earlyInMinute();
    for (let i = 0; i < PER_MINUTE + 1; i++) {
      const { res, code } = await chat(key);
      expect(res.status).toBe(429);
      expect(code).toBe("insufficient_quota");
      expect(res.headers.get("x-should-retry")).toBe("false");
      expect(res.headers.get("retry-after")).toBeNull();
    }
    // The budget's refusals took nothing from the default's window: once it is gone, the default
    // admits its whole minute (if the minute turned meanwhile, a fresh window admits as many).
    await must(stack, adminKey, "DELETE", `/api/v1/budgets/${budgetId}`);
    for (let i = 0; i < PER_MINUTE; i++) expect((await chat(key)).res.status).toBe(200);
    const { res, code } = await chat(key);
    expect(res.status).toBe(429);
    expect(code).toBe("rate_limited");
  }, 120_000);

  it("lists the default and the budget at me/limits", async () => {
    const { key, budgetId } = await app("dlb-mine", 5);
    const mine = await call(stack, key, "GET", "/api/v1/me/limits");
    expect(mine.status).toBe(200);
    expect(mine.body.rate_limits).toEqual([
      expect.objectContaining({
        subject: { kind: "virtual_account", id: null, default: true },
        scope: { provider_account: ACCOUNT, model: null },
        requests_per_minute: PER_MINUTE,
      }),
    ]);
    expect(mine.body.budgets).toEqual([
      expect.objectContaining({ id: budgetId, max_usd: 5, period: "day", spent_usd: 0 }),
    ]);
  });

  it("refuses a default budget: a budget is on one subject", async () => {
    const res = await call(stack, adminKey, "POST", "/api/v1/budgets", {
      subject: { kind: "virtual_account", default: true },
      max_usd: 1,
      period: "day",
    });
    expect(res.status).toBe(422);
  });
});
