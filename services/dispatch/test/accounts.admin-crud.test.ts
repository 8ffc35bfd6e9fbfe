import {
  type Actor,
  dispatchAdminAccountsCreate,
  dispatchAdminAccountsGet,
  dispatchAdminAccountsList,
  dispatchAdminAccountsUpdate,
  dispatchAdminAuditList,
  dispatchCatalogAccount,
  dispatchCatalogList,
} from "@gatehouse/contracts";
import { drizzle } from "drizzle-orm/postgres-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DispatchDb } from "../src/accounts/context.js";
import { loadAccount } from "../src/accounts/load.js";
import { schema } from "../src/db/schema.js";
import { type DispatchHarness, startDispatch } from "./harness.js";

let h: DispatchHarness;
let db: DispatchDb;
let admin: Actor;
const SECRET = "sk-live-do-not-leak-1234567890";

beforeAll(async () => {
  h = await startDispatch();
  admin = h.ids.admin;
  db = drizzle(h.sql, { schema }) as unknown as DispatchDb;
});
afterAll(async () => {
  await h?.stop();
});

describe("provider accounts: create, read, update", () => {
  it("creates an account and never returns its credentials", async () => {
    const created = await h.client.request(dispatchAdminAccountsCreate, {
      actor: admin,
      name: "openai-main",
      type: "openai",
      baseUrl: "https://api.openai.com/v1",
      credentials: { apiKey: SECRET },
      models: [
        { name: "gpt-4o-mini", kind: "chat", inputPricePerMTok: 0.15, outputPricePerMTok: 0.6 },
        { name: "text-embedding-3-small", kind: "embedding" },
      ],
    });
    expect(created).toMatchObject({
      name: "openai-main",
      type: "openai",
      credentialsSet: true,
      enabled: true,
    });
    expect(JSON.stringify(created)).not.toContain(SECRET);
    const got = await h.client.request(dispatchAdminAccountsGet, { actor: admin, name: "openai-main" });
    expect(JSON.stringify(got)).not.toContain(SECRET);
    expect(got.models).toHaveLength(2);
  });

  it("stores credentials only as ciphertext and decrypts them for the invoke path", async () => {
    const rows = await h.sql`select * from dispatch.provider_accounts where name = 'openai-main'`;
    expect(JSON.stringify(rows)).not.toContain(SECRET);
    expect(String(rows[0]?.credentials_ciphertext)).toMatch(/^v1\./);
    const loaded = await loadAccount(db, h.masterKey, "openai-main");
    expect(loaded?.credentials).toEqual({ apiKey: SECRET });
    expect(await loadAccount(db, h.masterKey, "nope")).toBeUndefined();
    expect(h.logs()).not.toContain(SECRET);
  });

  it("a ciphertext copied to another account's row does not decrypt", async () => {
    await h.client.request(dispatchAdminAccountsCreate, {
      actor: admin,
      name: "other",
      type: "openai",
      credentials: { apiKey: "other-secret" },
    });
    await h.sql`update dispatch.provider_accounts set credentials_ciphertext =
      (select credentials_ciphertext from dispatch.provider_accounts where name = 'openai-main') where name = 'other'`;
    await expect(loadAccount(db, h.masterKey, "other")).rejects.toMatchObject({ code: "internal_error" });
  });

  it("refuses a duplicate name, a bad name, an unknown type and a bad base URL", async () => {
    await expect(
      h.client.request(dispatchAdminAccountsCreate, { actor: admin, name: "openai-main", type: "openai" }),
    ).rejects.toMatchObject({ code: "conflict" });
    for (const name of ["../x", "a/../b", "OpenAI-Main", "\u043epenai-main", "a.b"]) {
      await expect(
        h.client.request(dispatchAdminAccountsCreate, { actor: admin, name, type: "openai" }),
      ).rejects.toMatchObject({ code: "validation_failed" });
    }
    await expect(
      h.client.request(dispatchAdminAccountsCreate, {
        actor: admin,
        name: "x",
        // @ts-expect-error an unknown provider type is refused at the contract
        type: "vertex",
      }),
    ).rejects.toMatchObject({ code: "validation_failed" });
    await expect(
      h.client.request(dispatchAdminAccountsCreate, {
        actor: admin,
        name: "x",
        type: "openai",
        baseUrl: "file:///etc/passwd",
      }),
    ).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("updates the model list and replaces credentials", async () => {
    const updated = await h.client.request(dispatchAdminAccountsUpdate, {
      actor: admin,
      name: "openai-main",
      credentials: { apiKey: "sk-rotated" },
      models: [{ name: "gpt-4o", kind: "chat" }],
    });
    expect(updated.models).toEqual([{ name: "gpt-4o", kind: "chat" }]);
    expect(updated.baseUrl).toBe("https://api.openai.com/v1");
    expect((await loadAccount(db, h.masterKey, "openai-main"))?.credentials).toEqual({
      apiKey: "sk-rotated",
    });
    const cleared = await h.client.request(dispatchAdminAccountsUpdate, {
      actor: admin,
      name: "openai-main",
      credentials: {},
    });
    expect(cleared.credentialsSet).toBe(false);
    await expect(
      h.client.request(dispatchAdminAccountsUpdate, { actor: admin, name: "missing", models: [] }),
    ).rejects.toMatchObject({ code: "not_found" });
  });

  it("lists accounts in pages and serves the catalog without secrets", async () => {
    const first = await h.client.request(dispatchAdminAccountsList, { actor: admin, limit: 1 });
    expect(first.items.map((a) => a.name)).toEqual(["openai-main"]);
    const second = await h.client.request(dispatchAdminAccountsList, {
      actor: admin,
      limit: 1,
      cursor: first.nextCursor ?? undefined,
    });
    expect(second.items.map((a) => a.name)).toEqual(["other"]);
    expect(second.nextCursor).toBeNull();
    const openai = {
      name: "openai-main",
      enabled: true,
      createdAt: expect.any(String),
      models: [{ name: "gpt-4o", kind: "chat" }],
    };
    const other = { name: "other", enabled: true, createdAt: expect.any(String), models: [] };
    expect(await h.client.request(dispatchCatalogList, {})).toEqual({
      accounts: [openai, other],
      next: null,
    });
    expect(await h.client.request(dispatchCatalogList, { after: "openai-main" })).toEqual({
      accounts: [other],
      next: null,
    });
    expect(await h.client.request(dispatchCatalogList, { names: ["other", "missing"] })).toEqual({
      accounts: [other],
      next: null,
    });
    expect(await h.client.request(dispatchCatalogAccount, { name: "openai-main" })).toEqual({
      account: openai,
    });
    expect(await h.client.request(dispatchCatalogAccount, { name: "missing" })).toEqual({ account: null });
  });

  it("audits changes without credential values", async () => {
    const page = await h.client.request(dispatchAdminAuditList, { actor: admin, limit: 100 });
    expect(page.items.map((e) => e.action)).toEqual(
      expect.arrayContaining(["account.create", "account.update"]),
    );
    expect(JSON.stringify(page.items)).not.toContain("sk-");
  });
});
