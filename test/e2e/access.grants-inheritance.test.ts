import { generateKey } from "@gatehouse/keys";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, grant, modelIds, must, newVirtualAccount } from "./access-api.js";
import { call, newMember } from "./identity-api.js";

let stack: TestStack;
const adminKey = generateKey("pat");

beforeAll(async () => {
  stack = await startTestStack({ env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey } });
  await createAccount(stack, adminKey, "openai-main", ["gpt-4o-mini", "gpt-4o"]);
  await createAccount(stack, adminKey, "together-main", ["meta-llama/Llama-3-70b"]);
  await createAccount(stack, adminKey, "anthropic-main", ["claude-sonnet"]);
});
afterAll(async () => {
  await stack?.stop();
});

function sdk(key: string): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${stack.url}/v1`, maxRetries: 0 });
}

describe("a PAT carries its user's grants", () => {
  it("gains a direct grant and loses it the moment the grant is removed", async () => {
    const alice = await newMember(stack, adminKey, "alice");
    expect(await modelIds(stack, alice.key)).toEqual([]);
    const g = await grant(stack, adminKey, "openai-main", { kind: "user", id: alice.user.id });
    expect(await modelIds(stack, alice.key)).toEqual(["openai-main/gpt-4o", "openai-main/gpt-4o-mini"]);
    const model = await sdk(alice.key).models.retrieve("openai-main/gpt-4o-mini");
    expect(model).toMatchObject({ id: "openai-main/gpt-4o-mini", object: "model", owned_by: "openai-main" });

    await must(stack, adminKey, "DELETE", `/api/v1/provider-accounts/openai-main/grants/${g.id}`);
    // No waiting: the delete returned only after the change was applied everywhere it is cached.
    expect(await modelIds(stack, alice.key)).toEqual([]);
    await expect(sdk(alice.key).models.retrieve("openai-main/gpt-4o-mini")).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
  });

  it("gains a team's grant and loses it when removed from the team", async () => {
    const bob = await newMember(stack, adminKey, "bob");
    const team = await must(stack, adminKey, "POST", "/api/v1/teams", { name: "research" }, 201);
    await must(stack, adminKey, "POST", `/api/v1/teams/${team.id}/members`, { user_id: bob.user.id }, 201);
    await grant(stack, adminKey, "together-main", { kind: "team", id: team.id });
    expect(await modelIds(stack, bob.key)).toEqual(["together-main/meta-llama/Llama-3-70b"]);
    // A model id with slashes in the model part, encoded by the SDK, resolves by the first slash.
    expect((await sdk(bob.key).models.retrieve("together-main/meta-llama/Llama-3-70b")).owned_by).toBe(
      "together-main",
    );

    await must(stack, adminKey, "DELETE", `/api/v1/teams/${team.id}/members/${bob.user.id}`);
    expect(await modelIds(stack, bob.key)).toEqual([]);
    const denied = await call(stack, bob.key, "GET", "/v1/models/together-main/meta-llama/Llama-3-70b");
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ type: "permission_error", code: "permission_denied" });
    expect(denied.body.error.message).toContain("together-main");
  });

  it("deleting a team ends what it gave its members", async () => {
    const carol = await newMember(stack, adminKey, "carol");
    const team = await must(stack, adminKey, "POST", "/api/v1/teams", { name: "temp-team" }, 201);
    await must(stack, adminKey, "POST", `/api/v1/teams/${team.id}/members`, { user_id: carol.user.id }, 201);
    await grant(stack, adminKey, "anthropic-main", { kind: "team", id: team.id });
    expect(await modelIds(stack, carol.key)).toEqual(["anthropic-main/claude-sonnet"]);
    await must(stack, adminKey, "DELETE", `/api/v1/teams/${team.id}`);
    expect(await modelIds(stack, carol.key)).toEqual([]);
  });
});

describe("a VAT carries only its virtual account's grants", () => {
  it("sees its own grants, not its creator's", async () => {
    const { va, key } = await newVirtualAccount(stack, adminKey, "ci-bot");
    // The admin who created it reaches everything; the virtual account does not inherit that.
    expect(await modelIds(stack, key)).toEqual([]);
    await grant(stack, adminKey, "anthropic-main", { kind: "virtual_account", id: va.id });
    expect(await modelIds(stack, key)).toEqual(["anthropic-main/claude-sonnet"]);
    await expect(sdk(key).models.retrieve("openai-main/gpt-4o")).rejects.toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
  });
});

describe("GET /v1/models differs per caller", () => {
  it("admins see every enabled account's models; members only theirs", async () => {
    const admin = await sdk(adminKey).models.list();
    const ids = admin.data.map((m) => m.id).sort();
    expect(ids).toEqual([
      "anthropic-main/claude-sonnet",
      "openai-main/gpt-4o",
      "openai-main/gpt-4o-mini",
      "together-main/meta-llama/Llama-3-70b",
    ]);
    for (const m of admin.data) {
      expect(m.object).toBe("model");
      expect(m.owned_by).toBe(m.id.split("/")[0]);
      expect(typeof m.created).toBe("number");
    }
    const dave = await newMember(stack, adminKey, "dave");
    await grant(stack, adminKey, "openai-main", { kind: "user", id: dave.user.id });
    const daves = await sdk(dave.key).models.list();
    expect(daves.data.map((m) => m.id).sort()).toEqual(["openai-main/gpt-4o", "openai-main/gpt-4o-mini"]);
  });

  it("the SDK gets NotFoundError for unknown accounts and models, AuthenticationError without a valid key", async () => {
    const client = sdk(adminKey);
    for (const id of ["gpt-4o", "nope-main/gpt-4o", "openai-main/gpt-5-nonexistent"]) {
      await expect(client.models.retrieve(id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    }
    await expect(sdk(generateKey("pat")).models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("disabled accounts", () => {
  it("answer 403 and leave /v1/models until enabled again", async () => {
    const erin = await newMember(stack, adminKey, "erin");
    await createAccount(stack, adminKey, "soon-off", ["m1"]);
    await grant(stack, adminKey, "soon-off", { kind: "user", id: erin.user.id });
    expect(await modelIds(stack, erin.key)).toEqual(["soon-off/m1"]);
    await sdk(erin.key).models.retrieve("soon-off/m1");
    await must(stack, adminKey, "POST", "/api/v1/provider-accounts/soon-off/disable");
    expect(await modelIds(stack, erin.key)).toEqual([]);
    const r = await call(stack, erin.key, "GET", "/v1/models/soon-off/m1");
    expect(r.status).toBe(403);
    expect(r.body.error.message).toContain("disabled");
    await must(stack, adminKey, "POST", "/api/v1/provider-accounts/soon-off/enable");
    expect(await modelIds(stack, erin.key)).toEqual(["soon-off/m1"]);
  });
});
