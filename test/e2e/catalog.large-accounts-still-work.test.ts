import { generateKey } from "@gatehouse/keys";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, grant, must, newVirtualAccount } from "./access-api.js";
import { call } from "./identity-api.js";

/**
 * Four accounts of 1,000 models with ~245-character names (which a manager may add to an account
 * of their own) made the whole catalog larger than one NATS message: every call and every model
 * list failed with 500, on unrelated accounts too.
 */
let stack: TestStack;
const adminKey = generateKey("pat");
const BIG = ["big-0", "big-1", "big-2", "big-3"];
const MODELS = 1_000;
const modelName = (account: string, i: number) =>
  `${account}-${String(i).padStart(4, "0")}-${"x".repeat(245 - account.length - 6)}`;
let appKey: string;

beforeAll(async () => {
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey } });
  await createAccount(stack, adminKey, "small", ["echo"]);
  for (const name of BIG) {
    await createAccount(
      stack,
      adminKey,
      name,
      Array.from({ length: MODELS }, (_, i) => modelName(name, i)),
    );
  }
  const app = await newVirtualAccount(stack, adminKey, "small-app");
  await grant(stack, adminKey, "small", { kind: "virtual_account", id: app.va.id });
  appKey = app.key;
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

const sdk = (key: string) => new OpenAI({ apiKey: key, baseURL: `${stack.url}/v1`, maxRetries: 0 });

describe("a catalog larger than one NATS message", () => {
  it("still serves calls on an unrelated small account", async () => {
    const answer = await sdk(appKey).chat.completions.create({
      model: "small/echo",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(answer.choices[0]?.message.content).toBe("mock: hello");
  });

  it("serves calls on the big accounts themselves", async () => {
    const model = `big-2/${modelName("big-2", 999)}`;
    const answer = await sdk(adminKey).chat.completions.create({
      model,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(answer.choices[0]?.message.content).toBe("mock: hi");
    expect((await sdk(adminKey).models.retrieve(model)).owned_by).toBe("big-2");
  });

  it("lists only the small account's model to its app through the SDK", async () => {
    const ids: string[] = [];
    for await (const m of sdk(appKey).models.list()) ids.push(m.id);
    expect(ids).toEqual(["small/echo"]);
  });

  it("lists all 4,001 models to an admin through the SDK, whose auto-pagination ends", async () => {
    const ids: string[] = [];
    for await (const m of sdk(adminKey).models.list()) ids.push(m.id);
    expect(ids).toHaveLength(BIG.length * MODELS + 1);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toBe(`big-0/${modelName("big-0", 0)}`);
    expect(ids.at(-1)).toBe("small/echo");
  });

  it("pages GET /v1/models with limit and after, ending with has_more false", async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const query = `?limit=1500${after === undefined ? "" : `&after=${encodeURIComponent(after)}`}`;
      const page = await must(stack, adminKey, "GET", `/v1/models${query}`);
      seen.push(...page.data.map((m: { id: string }) => m.id));
      expect(page.last_id).toBe(seen.at(-1));
      if (!page.has_more) break;
      after = page.last_id;
    }
    expect(seen).toHaveLength(BIG.length * MODELS + 1);
    expect(new Set(seen).size).toBe(seen.length);
    // A name without a slash is a route's id (the list starts with routes), so it is a cursor too;
    // one that is neither a route name nor `<account>/<model>` is refused.
    for (const bad of ["limit=0", "limit=x", "limit=100001", "after=no%20slash", "after=-x"]) {
      const res = await call(stack, adminKey, "GET", `/v1/models?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error).toMatchObject({ type: "invalid_request_error", code: "invalid_request" });
    }
  });

  it("pages the admin account listing in replies that each fit a NATS message", async () => {
    const names: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 20; pages++) {
      const res = await call(
        stack,
        adminKey,
        "GET",
        `/api/v1/provider-accounts?limit=200${cursor === null ? "" : `&cursor=${cursor}`}`,
      );
      expect(res.status).toBe(200);
      names.push(...res.body.data.map((a: { name: string }) => a.name));
      cursor = res.body.next_cursor;
      if (cursor === null) break;
    }
    expect(names).toEqual([...BIG, "small"]);
  });
});
