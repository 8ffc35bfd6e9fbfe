import type { Actor } from "@gatehouse/contracts";
import {
  ACCOUNT_PAGE_MAX_BYTES,
  aclAdminGrantsCreate,
  dispatchAdminAccountsCreate,
  dispatchAdminAccountsDisable,
  dispatchAdminAccountsGet,
  dispatchAdminAccountsList,
  dispatchAdminAccountsUpdate,
  dispatchCatalogAccount,
  dispatchCatalogList,
  jsonBytes,
  MAX_ACCOUNT_MODELS_BYTES,
} from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DispatchHarness, startDispatch } from "./harness.js";

/**
 * The catalog and the admin listing are answered a bounded page at a time: six accounts of 1,000
 * models with 245-character names are ~1.7 MB together, more than one NATS message (1 MiB).
 */
let h: DispatchHarness;
let admin: Actor;
let member: Actor;
const BIG = ["big-0", "big-1", "big-2", "big-3", "big-4", "big-5"];
const models = (account: string, count = 1_000, pad = 245) =>
  Array.from({ length: count }, (_, i) => ({
    name: `${account}-${i}-${"x".repeat(pad)}`.slice(0, pad),
    kind: "chat" as const,
  }));

beforeAll(async () => {
  h = await startDispatch();
  admin = h.ids.admin;
  member = await h.ids.user();
  const ids: Record<string, string> = {};
  for (const name of ["a-small", ...BIG, "z-small"]) {
    ids[name] = (
      await h.client.request(dispatchAdminAccountsCreate, {
        actor: admin,
        name,
        type: "mock",
        models: name.endsWith("small") ? [{ name: "echo", kind: "chat" }] : models(name),
      })
    ).id;
  }
  await h.client.request(dispatchAdminAccountsDisable, { actor: admin, name: "big-1" });
  for (const account of ["big-2", "big-4", "z-small"]) {
    await h.client.request(aclAdminGrantsCreate, {
      actor: admin,
      account,
      resourceId: ids[account] ?? "",
      subject: { kind: "user", id: member.principal.id },
      role: "user",
    });
  }
}, 60_000);
afterAll(async () => {
  await h?.stop();
});

describe("bounded pages", () => {
  it("page the catalog within the byte bound and list every account once", async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 20; pages++) {
      const page = await h.client.request(dispatchCatalogList, after === undefined ? {} : { after });
      expect(page.accounts.length === 1 || jsonBytes(page) <= ACCOUNT_PAGE_MAX_BYTES).toBe(true);
      seen.push(...page.accounts.map((a) => a.name));
      if (page.next === null) break;
      expect(page.next).toBe(page.accounts.at(-1)?.name);
      after = page.next;
    }
    expect(seen).toEqual(["a-small", ...BIG, "z-small"]);
  });

  it("filter the catalog by names and by enabled", async () => {
    const names = ["big-1", "big-3", "z-small", "nope"];
    const seen: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const page = await h.client.request(dispatchCatalogList, {
        names,
        enabledOnly: true,
        ...(after === undefined ? {} : { after }),
      });
      seen.push(...page.accounts.map((a) => a.name));
      if (page.next === null) break;
      after = page.next;
    }
    expect(seen).toEqual(["big-3", "z-small"]);
  });

  it("answer one account's entry, all of its models, in one message", async () => {
    const { account } = await h.client.request(dispatchCatalogAccount, { name: "big-5" });
    expect(account?.models).toHaveLength(1_000);
    expect(account?.models[999]).toEqual({ name: models("big-5")[999]?.name, kind: "chat" });
  });

  it("page the admin listing within the byte bound, for admins and for members", async () => {
    for (const [actor, expected] of [
      [admin, ["a-small", ...BIG, "z-small"]],
      [member, ["big-2", "big-4", "z-small"]],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = await h.client.request(dispatchAdminAccountsList, {
          actor,
          limit: 200,
          ...(cursor === undefined ? {} : { cursor }),
        });
        expect(page.items.length <= 1 || jsonBytes(page) <= ACCOUNT_PAGE_MAX_BYTES).toBe(true);
        seen.push(...page.items.map((a) => a.name));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
      }
      expect(seen).toEqual(expected);
    }
  });

  it("refuses a cursor that is not one, as every list does (validation_failed)", async () => {
    await expect(
      h.client.request(dispatchAdminAccountsList, { actor: admin, cursor: "Li4vZXRj" }),
    ).rejects.toMatchObject({ code: "validation_failed" });
  });
});

describe("size limits on one account", () => {
  it("refuses a model list larger than its byte bound, even of at most 1,000 models", async () => {
    // 1,000 names of 256 three-byte characters: 768 KB of names alone.
    const wide = Array.from({ length: 1_000 }, (_, i) => ({
      name: `${i}-${"語".repeat(250)}`,
      kind: "chat" as const,
    }));
    expect(jsonBytes(wide)).toBeGreaterThan(MAX_ACCOUNT_MODELS_BYTES);
    await expect(
      h.client.request(dispatchAdminAccountsUpdate, { actor: admin, name: "a-small", models: wide }),
    ).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("refuses options larger than 64 KiB", async () => {
    await expect(
      h.client.request(dispatchAdminAccountsUpdate, {
        actor: admin,
        name: "a-small",
        options: { note: "x".repeat(70 * 1024) },
      }),
    ).rejects.toMatchObject({ code: "validation_failed" });
    expect(
      (await h.client.request(dispatchAdminAccountsGet, { actor: admin, name: "a-small" })).options,
    ).toEqual({});
  });
});
