import { randomUUID } from "node:crypto";
import { openDatabase } from "@gatehouse/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { responses } from "../src/db/responses-schema.js";
import { ResponseStore } from "../src/responses/store.js";
import { type DispatchHarness, startDispatch } from "./harness.js";

let harness: DispatchHarness;
let close: () => Promise<void>;
let now = new Date("2030-01-01T00:00:00Z");
let store: ResponseStore;

beforeAll(async () => {
  harness = await startDispatch(); // applies dispatch's migrations to the test database
  const database = await openDatabase({ url: harness.database.url, maxConnections: 2 });
  close = () => database.close();
  store = new ResponseStore(database.drizzle({ responses }), () => now);
}, 30_000);
afterAll(async () => {
  await close?.();
  await harness?.stop();
});

const alice = { id: randomUUID(), kind: "virtual_account" as const };
const bob = { id: randomUUID(), kind: "virtual_account" as const };

function kept(id: string, itemIds: string[] = []) {
  return {
    id,
    owner: alice,
    account: "mock-main",
    model: "echo",
    itemIds,
    history: [],
    input: [{ id: "item_1", type: "message", role: "user", content: "hi" }],
    response: { id, object: "response", output: [] },
  };
}

describe("the response store", () => {
  it("answers a response and its items only to their owner", async () => {
    await store.keep(kept("resp_gh_a", ["item_1", "msg_1"]), 1);
    expect((await store.owned("resp_gh_a", alice))?.account).toBe("mock-main");
    expect(await store.owned("resp_gh_a", bob)).toBeUndefined();
    expect(await store.owned("resp_gh_a", { ...alice, kind: "user" })).toBeUndefined();
    expect((await store.withItems(["msg_1"], alice, "mock-main")).map((r) => r.id)).toEqual(["resp_gh_a"]);
    expect(await store.withItems(["msg_1"], bob, "mock-main")).toEqual([]);
    // An item kept on another account is not this call's to reference.
    expect(await store.withItems(["msg_1"], alice, "mock-other")).toEqual([]);
  });

  it("never hands a provider's response id to a second owner", async () => {
    const native = { id: "resp_native_1", account: "openai-main", model: "gpt-4o-mini", itemIds: [] };
    await store.recordNative({ ...native, owner: alice });
    await store.recordNative({ ...native, owner: bob, itemIds: ["msg_bob"] });
    expect(await store.owned("resp_native_1", bob)).toBeUndefined();
    expect((await store.owned("resp_native_1", alice))?.itemIds).toEqual([]);
    await store.recordNative({ ...native, owner: alice, itemIds: ["msg_x"] });
    expect((await store.owned("resp_native_1", alice))?.itemIds).toEqual(["msg_x"]);
  });

  it("reads an expired response as gone at once, and the purge deletes it", async () => {
    await store.keep(kept("resp_gh_old"), 1);
    now = new Date(now.getTime() + 24 * 3_600_000 + 1);
    expect(await store.owned("resp_gh_old", alice)).toBeUndefined();
    const before = await store.count();
    expect(await store.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await store.count()).toBeLessThan(before);
    expect(await store.purgeExpired()).toBe(0);
  });

  it("deletes for the owner only", async () => {
    await store.keep(kept("resp_gh_b"), 1);
    await store.remove("resp_gh_b", bob);
    expect(await store.owned("resp_gh_b", alice)).toBeDefined();
    await store.remove("resp_gh_b", alice);
    expect(await store.owned("resp_gh_b", alice)).toBeUndefined();
  });
});
