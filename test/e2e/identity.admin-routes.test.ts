import { generateKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { call, newMember } from "./identity-api.js";

let stack: TestStack;
const adminKey = generateKey("pat");
const createdKeys: string[] = [];
const MISSING = "00000000-0000-4000-8000-000000000000";

beforeAll(async () => {
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey } });
});
afterAll(async () => {
  await stack?.stop();
});

const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
const uuid = expect.stringMatching(/^[0-9a-f-]{36}$/);

describe("GET /api/v1/me", () => {
  it("answers the bootstrap admin", async () => {
    const me = await call(stack, adminKey, "GET", "/api/v1/me");
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      principal: { kind: "user", role: "admin" },
      key_id: uuid,
      user: { email: "admin@localhost", role: "admin", status: "active", created_at: iso },
      virtual_account: null,
    });
  });

  it("401 without a key, in the OpenAI error shape", async () => {
    const res = await call(stack, undefined, "GET", "/api/v1/me");
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      error: {
        message: expect.any(String),
        type: "authentication_error",
        param: null,
        code: "missing_api_key",
      },
    });
  });
});

describe("users", () => {
  it("create (201), get, list with pagination, and 409 on a duplicate email in any case", async () => {
    const created = await call(stack, adminKey, "POST", "/api/v1/users", {
      email: "Ada@Example.com",
      name: "Ada",
      role: "member",
      external_id: "idp|ada",
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: uuid,
      email: "Ada@Example.com",
      name: "Ada",
      role: "member",
      status: "active",
      external_id: "idp|ada",
      created_at: iso,
      deactivated_at: null,
    });
    const dup = await call(stack, adminKey, "POST", "/api/v1/users", {
      email: "ada@example.COM",
      name: "Ada 2",
    });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe("conflict");

    const got = await call(stack, adminKey, "GET", `/api/v1/users/${created.body.id}`);
    expect(got).toEqual({ status: 200, body: created.body });

    await newMember(stack, adminKey, "page");
    const first = await call(stack, adminKey, "GET", "/api/v1/users?limit=2");
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(2);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await call(
      stack,
      adminKey,
      "GET",
      `/api/v1/users?limit=2&cursor=${first.body.next_cursor}`,
    );
    expect(second.status).toBe(200);
    const ids = [...first.body.data, ...second.body.data].map((u: { id: string }) => u.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain(created.body.id);
  });

  it("422 on a body that breaks the schema, 404 on an unknown id", async () => {
    const bad = await call(stack, adminKey, "POST", "/api/v1/users", { email: "not-an-email", name: "" });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe("validation_failed");
    const extra = await call(stack, adminKey, "POST", "/api/v1/users", {
      email: "x@example.com",
      name: "x",
      admin: true,
    });
    expect(extra.status).toBe(422);
    expect((await call(stack, adminKey, "GET", "/api/v1/users?limit=0")).status).toBe(422);
    expect((await call(stack, adminKey, "GET", "/api/v1/users?cursor=garbage")).status).toBe(422);
    const missing = await call(stack, adminKey, "GET", `/api/v1/users/${MISSING}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe("not_found");
    expect((await call(stack, adminKey, "POST", `/api/v1/users/${MISSING}/deactivate`)).status).toBe(404);
  });

  it("members get 403 on admin routes but may read themselves", async () => {
    const m = await newMember(stack, adminKey);
    createdKeys.push(m.key);
    const forbidden = await call(stack, m.key, "GET", "/api/v1/users");
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toMatchObject({ code: "permission_denied", type: "permission_error" });
    expect(
      (await call(stack, m.key, "POST", "/api/v1/users", { email: "y@example.com", name: "y" })).status,
    ).toBe(403);
    expect((await call(stack, m.key, "POST", `/api/v1/users/${m.user.id}/deactivate`)).status).toBe(403);
    expect((await call(stack, m.key, "GET", `/api/v1/users/${m.user.id}`)).status).toBe(200);
    const me = await call(stack, m.key, "GET", "/api/v1/me");
    expect(me.body).toMatchObject({ principal: { id: m.user.id, role: "member" }, user: { id: m.user.id } });
  });

  it("deactivate kills every PAT of the user at once; reactivate does not revive them", async () => {
    const m = await newMember(stack, adminKey);
    const second = await call(stack, m.key, "POST", "/api/v1/personal-access-tokens", {
      name: "minted just now",
    });
    expect(second.status).toBe(201);
    createdKeys.push(m.key, second.body.key);
    expect((await call(stack, second.body.key, "GET", "/api/v1/me")).status).toBe(200);

    const off = await call(stack, adminKey, "POST", `/api/v1/users/${m.user.id}/deactivate`);
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ status: "deactivated", deactivated_at: iso });
    for (const key of [m.key, second.body.key]) {
      const res = await call(stack, key, "GET", "/api/v1/me");
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("principal_deactivated");
    }
    const on = await call(stack, adminKey, "POST", `/api/v1/users/${m.user.id}/reactivate`);
    expect(on).toMatchObject({ status: 200, body: { status: "active", deactivated_at: null } });
    expect((await call(stack, m.key, "GET", "/api/v1/me")).body.error.code).toBe("api_key_revoked");
  });

  it("an admin cannot deactivate themself (409)", async () => {
    const me = await call(stack, adminKey, "GET", "/api/v1/me");
    const res = await call(stack, adminKey, "POST", `/api/v1/users/${me.body.user.id}/deactivate`);
    expect(res.status).toBe(409);
  });
});

describe("personal access tokens", () => {
  it("a member creates, lists and revokes their own; the key is shown once", async () => {
    const m = await newMember(stack, adminKey);
    const created = await call(stack, m.key, "POST", "/api/v1/personal-access-tokens", {
      name: "script",
      expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: uuid,
      kind: "pat",
      name: "script",
      key: expect.stringMatching(/^gatehouse_pat_/),
      display_hint: expect.stringMatching(/^gatehouse_pat_.{4}….{4}$/),
      user_id: m.user.id,
      expires_at: iso,
      revoked_at: null,
    });
    createdKeys.push(m.key, created.body.key);

    const list = await call(stack, m.key, "GET", "/api/v1/personal-access-tokens");
    expect(list.status).toBe(200);
    expect(list.body.data.map((t: { id: string }) => t.id)).toEqual([m.tokenId, created.body.id]);
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
    expect(list.body.data[0]).not.toHaveProperty("key");

    const revoked = await call(stack, m.key, "DELETE", `/api/v1/personal-access-tokens/${created.body.id}`);
    expect(revoked).toMatchObject({ status: 200, body: { revoked_at: iso, revoked_reason: "revoked" } });
    const refused = await call(stack, created.body.key, "GET", "/api/v1/me");
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe("api_key_revoked");
  });

  it("403 for another user's tokens, 404 for an unknown token, 422 for a past expiry", async () => {
    const a = await newMember(stack, adminKey);
    const b = await newMember(stack, adminKey);
    createdKeys.push(a.key, b.key);
    expect((await call(stack, a.key, "DELETE", `/api/v1/personal-access-tokens/${b.tokenId}`)).status).toBe(
      403,
    );
    expect(
      (await call(stack, a.key, "GET", `/api/v1/personal-access-tokens?user_id=${b.user.id}`)).status,
    ).toBe(403);
    expect(
      (await call(stack, a.key, "POST", "/api/v1/personal-access-tokens", { name: "x", user_id: b.user.id }))
        .status,
    ).toBe(403);
    expect((await call(stack, a.key, "DELETE", `/api/v1/personal-access-tokens/${MISSING}`)).status).toBe(
      404,
    );
    const past = await call(stack, a.key, "POST", "/api/v1/personal-access-tokens", {
      name: "x",
      expires_at: "2001-01-01T00:00:00Z",
    });
    expect(past.status).toBe(422);
    expect((await call(stack, a.key, "POST", "/api/v1/personal-access-tokens", {})).status).toBe(422);
    // An admin may act on anyone's.
    const listed = await call(stack, adminKey, "GET", `/api/v1/personal-access-tokens?user_id=${b.user.id}`);
    expect(listed.body.data).toHaveLength(1);
    expect(
      (await call(stack, adminKey, "DELETE", `/api/v1/personal-access-tokens/${b.tokenId}`)).status,
    ).toBe(200);
    expect((await call(stack, b.key, "GET", "/api/v1/me")).status).toBe(401);
  });

  it("revoke-all for a user (admin; members 403; unknown user 404)", async () => {
    const m = await newMember(stack, adminKey);
    createdKeys.push(m.key);
    expect(
      (await call(stack, m.key, "POST", `/api/v1/users/${m.user.id}/personal-access-tokens/revoke-all`))
        .status,
    ).toBe(403);
    expect(
      (await call(stack, adminKey, "POST", `/api/v1/users/${MISSING}/personal-access-tokens/revoke-all`))
        .status,
    ).toBe(404);
    const res = await call(
      stack,
      adminKey,
      "POST",
      `/api/v1/users/${m.user.id}/personal-access-tokens/revoke-all`,
    );
    // A propagation report, whatever the machine's speed made of it; the guarantee is the next line.
    expect(res).toMatchObject({
      status: 200,
      body: { revoked: 1, propagation: { replicas: expect.any(Number) } },
    });
    expect((await call(stack, m.key, "GET", "/api/v1/me")).body.error.code).toBe("api_key_revoked");
  });
});

describe("virtual accounts and their tokens", () => {
  it("create, get, list; 409 on a duplicate name; 403 for members; 404 for unknown", async () => {
    const va = await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", {
      name: "billing-service",
      description: "prod billing",
    });
    expect(va.status).toBe(201);
    expect(va.body).toEqual({
      id: uuid,
      name: "billing-service",
      description: "prod billing",
      expires_at: null,
      created_at: iso,
      created_by: uuid,
    });
    expect(
      (await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "billing-service" })).status,
    ).toBe(409);
    expect((await call(stack, adminKey, "GET", `/api/v1/virtual-accounts/${va.body.id}`)).body).toEqual(
      va.body,
    );
    const list = await call(stack, adminKey, "GET", "/api/v1/virtual-accounts");
    expect(list.body.data.map((v: { id: string }) => v.id)).toContain(va.body.id);
    expect(list.body.next_cursor).toBeNull();
    expect((await call(stack, adminKey, "GET", `/api/v1/virtual-accounts/${MISSING}`)).status).toBe(404);
    expect((await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "" })).status).toBe(422);
    const m = await newMember(stack, adminKey);
    createdKeys.push(m.key);
    expect((await call(stack, m.key, "POST", "/api/v1/virtual-accounts", { name: "mine" })).status).toBe(403);
    expect((await call(stack, m.key, "GET", "/api/v1/virtual-accounts")).status).toBe(403);
    expect((await call(stack, m.key, "GET", `/api/v1/virtual-accounts/${va.body.id}/tokens`)).status).toBe(
      403,
    );
  });

  it("a VAT authenticates as its virtual account; delete refuses every token of the account", async () => {
    const va = await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "ci-runner" });
    const vat = await call(stack, adminKey, "POST", `/api/v1/virtual-accounts/${va.body.id}/tokens`, {
      name: "main",
    });
    expect(vat.status).toBe(201);
    expect(vat.body).toMatchObject({
      kind: "vat",
      virtual_account_id: va.body.id,
      key: expect.stringMatching(/^gatehouse_vat_/),
    });
    createdKeys.push(vat.body.key);
    const me = await call(stack, vat.body.key, "GET", "/api/v1/me");
    expect(me.body).toMatchObject({
      principal: { id: va.body.id, kind: "virtual_account", role: "member" },
      user: null,
      virtual_account: { id: va.body.id, name: "ci-runner" },
    });
    // A virtual account is no admin and has no PATs.
    expect((await call(stack, vat.body.key, "GET", "/api/v1/users")).status).toBe(403);
    expect(
      (await call(stack, vat.body.key, "POST", "/api/v1/personal-access-tokens", { name: "x" })).status,
    ).toBe(403);

    const tokens = await call(stack, adminKey, "GET", `/api/v1/virtual-accounts/${va.body.id}/tokens`);
    expect(tokens.body.data).toEqual([expect.objectContaining({ id: vat.body.id, last_used_at: null })]);
    expect(JSON.stringify(tokens.body)).not.toContain(vat.body.key);

    const del = await call(stack, adminKey, "DELETE", `/api/v1/virtual-accounts/${va.body.id}`);
    expect(del.status).toBe(200);
    expect((await call(stack, vat.body.key, "GET", "/api/v1/me")).body.error.code).toBe("api_key_revoked");
    expect((await call(stack, adminKey, "GET", `/api/v1/virtual-accounts/${va.body.id}`)).status).toBe(404);
    expect((await call(stack, adminKey, "DELETE", `/api/v1/virtual-accounts/${va.body.id}`)).status).toBe(
      404,
    );
  });

  it("revoke a VAT at once; 404 for a token of another account; 422 for an out-of-range grace", async () => {
    const va = await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "etl" });
    const other = await call(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "etl-2" });
    const vat = await call(stack, adminKey, "POST", `/api/v1/virtual-accounts/${va.body.id}/tokens`, {
      name: "k",
    });
    createdKeys.push(vat.body.key);
    const base = `/api/v1/virtual-accounts`;
    expect(
      (await call(stack, adminKey, "DELETE", `${base}/${other.body.id}/tokens/${vat.body.id}`)).status,
    ).toBe(404);
    for (const grace of [-1, 1.5, 31 * 86_400, "10"]) {
      const res = await call(
        stack,
        adminKey,
        "POST",
        `${base}/${va.body.id}/tokens/${vat.body.id}/regenerate`,
        {
          grace_period_seconds: grace,
        },
      );
      expect(res.status).toBe(422);
    }
    const revoked = await call(stack, adminKey, "DELETE", `${base}/${va.body.id}/tokens/${vat.body.id}`);
    expect(revoked).toMatchObject({ status: 200, body: { revoked_at: iso } });
    expect((await call(stack, vat.body.key, "GET", "/api/v1/me")).body.error.code).toBe("api_key_revoked");
    const again = await call(
      stack,
      adminKey,
      "POST",
      `${base}/${va.body.id}/tokens/${vat.body.id}/regenerate`,
      {
        grace_period_seconds: 0,
      },
    );
    expect(again.status).toBe(409);
  });
});

describe("audit events", () => {
  it("records every change with actor, action, target, request id and outcome; admins only", async () => {
    const requestId = `audit-${Date.now()}`;
    const created = await call(
      stack,
      adminKey,
      "POST",
      "/api/v1/virtual-accounts",
      { name: "audited" },
      { "x-request-id": requestId },
    );
    const m = await newMember(stack, adminKey);
    createdKeys.push(m.key);
    expect((await call(stack, m.key, "GET", "/api/v1/audit-events")).status).toBe(403);

    const page = await call(stack, adminKey, "GET", "/api/v1/audit-events?limit=200");
    expect(page.status).toBe(200);
    const me = await call(stack, adminKey, "GET", "/api/v1/me");
    expect(page.body.data).toContainEqual({
      id: uuid,
      at: iso,
      actor: { kind: "user", id: me.body.user.id, key_id: me.body.key_id },
      action: "virtual_accounts.create",
      target: { kind: "virtual_account", id: created.body.id },
      request_id: requestId,
      outcome: "success",
      detail: { name: "audited" },
    });
    // The refused read above is there too, newest first.
    expect(page.body.data[0]).toMatchObject({
      action: "audit.list",
      outcome: "denied",
      actor: { id: m.user.id },
    });
    expect(page.body.data.some((e: { action: string }) => e.action === "bootstrap")).toBe(true);
  });
});

describe("secrets", () => {
  it("no key created in this file appears in any log line", () => {
    expect(createdKeys.length).toBeGreaterThan(5);
    const logs = stack.logs.text();
    for (const key of [adminKey, ...createdKeys]) expect(logs).not.toContain(key);
  });

  it("the OpenAPI document describes the identity routes", async () => {
    const doc = (await (await fetch(`${stack.url}/api/v1/openapi.json`)).json()) as { paths: object };
    for (const path of [
      "/api/v1/me",
      "/api/v1/users",
      "/api/v1/users/{id}/deactivate",
      "/api/v1/personal-access-tokens/revoke-all",
      "/api/v1/virtual-accounts/{id}/tokens/{tokenId}/regenerate",
      "/api/v1/audit-events",
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });
});
