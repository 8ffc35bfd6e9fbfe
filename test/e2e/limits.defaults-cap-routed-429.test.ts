import { generateKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, grant, must, newVirtualAccount, teamOnAccount } from "./access-api.js";
import { call, newMember } from "./identity-api.js";

/**
 * A default rate limit per subject kind (docs/governance.md, "Defaults per subject kind"): every
 * subject of the kind counted in windows of its own, replaced by a limit of the subject's own with
 * the same scope; the cap on limits per subject; and a routed call's 429 naming its route.
 */
let stack: TestStack;
/** The default every virtual account calling ACCOUNT is under (deleted by the last test). */
let defaultLimit: { id: string };
let adminKey: string;
const ACCOUNT = "dl-mock";

beforeAll(async () => {
  adminKey = generateKey("pat");
  stack = await startTestStack({
    ingressReplicas: 2,
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey, QUOTA_SLICE_FRACTION: "0.5" },
  });
  await createAccount(stack, adminKey, ACCOUNT, ["echo"]);
  // Every virtual account calling this account: 2 requests a minute each, unless it has its own.
  defaultLimit = await createLimit({
    subject: { kind: "virtual_account", default: true },
    scope: { provider_account: ACCOUNT },
    requests_per_minute: 2,
  });
  expect(defaultLimit).toMatchObject({
    subject: { kind: "virtual_account", id: null, default: true },
    propagation: { replicas: 2, confirmed: 2, complete: true },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

function createLimit(body: Record<string, unknown>) {
  return must(stack, adminKey, "POST", "/api/v1/rate-limits", body, 201);
}

async function app(name: string, on = ACCOUNT) {
  const { va, key } = await newVirtualAccount(stack, adminKey, `${name}-${Date.now()}`);
  await grant(stack, adminKey, on, { kind: "virtual_account", id: va.id });
  return { vaId: va.id as string, key };
}

async function chat(replica: number, key: string, model = `${ACCOUNT}/echo`) {
  const res = await fetch(`${stack.ingress[replica]?.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.arrayBuffer();
  return res;
}

/**
 * Calls through one replica until one is refused (bounded), answering how many were admitted. (Over
 * several replicas a slice another one holds unused is not admitted here: the under-admission the
 * bound allows.)
 */
async function admittedUntilRefused(key: string, most = 8): Promise<number> {
  let admitted = 0;
  for (let i = 0; i < most; i++) {
    const res = await chat(0, key);
    if (res.status === 429) return admitted;
    expect(res.status).toBe(200);
    admitted++;
  }
  return admitted;
}

describe("a default limit per subject kind", () => {
  it("counts each subject of the kind in its own window, not one shared pool", async () => {
    const first = await app("first");
    const admitted = await admittedUntilRefused(first.key);
    // A window that ended mid-loop admits a second minute's worth; never more.
    expect(admitted).toBeGreaterThanOrEqual(2);
    expect(admitted).toBeLessThanOrEqual(4);
    // The first app spent its window; the second's is untouched (on either replica).
    for (const replica of [0, 1]) {
      const other = await app(`second-${replica}`);
      for (let i = 0; i < 2; i++) {
        const ok = await chat(replica, other.key);
        expect(ok.status).toBe(200);
        expect(ok.headers.get("x-ratelimit-limit-requests")).toBe("2");
      }
    }
  });

  it("is replaced by a limit of the subject's own with the same scope; one with another scope applies beside it", async () => {
    const roomy = await app("roomy");
    await createLimit({
      subject: { kind: "virtual_account", id: roomy.vaId },
      scope: { provider_account: ACCOUNT },
      requests_per_minute: 100,
    });
    for (let i = 0; i < 6; i++) {
      const res = await chat(i % 2, roomy.key);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-limit-requests")).toBe("100");
    }
    const unscoped = await app("unscoped");
    await createLimit({ subject: { kind: "virtual_account", id: unscoped.vaId }, requests_per_minute: 100 });
    // Both apply; the default is the tightest.
    expect(await admittedUntilRefused(unscoped.key)).toBeLessThanOrEqual(4);
  });

  it("is listed with the limits that apply to a caller", async () => {
    const caller = await app("mine");
    const mine = await must(stack, caller.key, "GET", "/api/v1/me/limits");
    expect(mine.rate_limits).toEqual([
      expect.objectContaining({
        subject: { kind: "virtual_account", id: null, default: true },
        requests_per_minute: 2,
      }),
    ]);
  });

  it("takes `default: true` or an id, not both", async () => {
    const both = await call(stack, adminKey, "POST", "/api/v1/rate-limits", {
      subject: { kind: "team", id: "00000000-0000-4000-8000-000000000001", default: true },
      requests_per_minute: 1,
    });
    expect(both.status).toBe(422);
  });
});

describe("a team default", () => {
  it("counts each team's calls through its grant in the team's own window", async () => {
    const account = `dl-team-${Date.now()}`;
    await createAccount(stack, adminKey, account, ["echo"]);
    await createLimit({
      subject: { kind: "team", default: true },
      scope: { provider_account: account },
      requests_per_minute: 1,
    });
    const members = [];
    for (const tag of ["ta", "tb"]) {
      const member = await newMember(stack, adminKey, tag);
      await teamOnAccount(stack, adminKey, `dl-${tag}-${Date.now()}`, member.user.id, account);
      members.push(member);
    }
    const [a, b] = members;
    const statusesA = [];
    for (let i = 0; i < 3; i++) statusesA.push((await chat(0, a?.key ?? "", `${account}/echo`)).status);
    expect(statusesA).toContain(429);
    // The other team's window is its own.
    expect((await chat(0, b?.key ?? "", `${account}/echo`)).status).toBe(200);
  });
});

describe("the cap on limits per subject", () => {
  it("answers 409 past 20 limits on one subject; another subject still has room", async () => {
    const capped = await app("capped");
    const create = (vaId: string, i: number) =>
      call(stack, adminKey, "POST", "/api/v1/rate-limits", {
        subject: { kind: "virtual_account", id: vaId },
        scope: { provider_account: `cap-${i}` },
        requests_per_minute: 1_000,
      });
    for (let i = 0; i < 20; i++) expect((await create(capped.vaId, i)).status).toBe(201);
    const over = await create(capped.vaId, 20);
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ error: { code: "conflict" } });
    expect(JSON.stringify(over.body)).toContain("maximum of 20");
    const other = await app("uncapped");
    expect((await create(other.vaId, 0)).status).toBe(201);
  }, 60_000);
});

describe("a routed call over its limit", () => {
  it("is refused with 429 naming the route in x-gatehouse-route", async () => {
    const route = `rl-route-${Date.now()}`;
    await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/routes",
      { name: route, kind: "chat", targets: [{ model: `${ACCOUNT}/echo` }] },
      201,
    );
    const { va, key } = await newVirtualAccount(stack, adminKey, `routed-${Date.now()}`);
    await must(
      stack,
      adminKey,
      "POST",
      `/api/v1/routes/${route}/grants`,
      { subject: { kind: "virtual_account", id: va.id }, role: "user" },
      201,
    );
    await createLimit({ subject: { kind: "virtual_account", id: va.id }, requests_per_minute: 1 });
    let refused: Response | undefined;
    for (let i = 0; i < 4 && refused === undefined; i++) {
      const res = await chat(0, key, route);
      if (res.status === 429) refused = res;
      else {
        expect(res.status).toBe(200);
        expect(res.headers.get("x-gatehouse-route")).toBe(route);
      }
    }
    expect(refused?.headers.get("x-gatehouse-route")).toBe(route);
    expect(refused?.headers.get("retry-after")).toBeTruthy();
  });
});

describe("a default limit deleted", () => {
  it("limits nothing on any replica once the delete returned, for subjects that spent their window too", async () => {
    const spent = await app("spent");
    await admittedUntilRefused(spent.key);
    const deleted = await must(stack, adminKey, "DELETE", `/api/v1/rate-limits/${defaultLimit.id}`);
    expect(deleted.propagation).toMatchObject({ replicas: 2, confirmed: 2, complete: true });
    for (let i = 0; i < 6; i++) {
      const res = await chat(i % 2, spent.key);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-limit-requests")).toBeNull();
    }
  });
});
