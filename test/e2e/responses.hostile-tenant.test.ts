import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount, grant, must, newVirtualAccount } from "./access-api.js";
import { caught, type InferenceWorld, startInferenceWorld } from "./inference-harness.js";

/**
 * The Responses API attacked as a hostile (or merely former) tenant would: conversations kept on an
 * account the caller lost, bodies built to exhaust the stack, routes and query parameters nobody
 * documented. Every answer must be a clean 4xx in OpenAI's dialect.
 */
let world: InferenceWorld;

beforeAll(async () => {
  world = await startInferenceWorld({
    types: ["openai", "mock"],
    env: { GATEHOUSE_RESPONSE_STORE_DAYS: "1" },
  });
  await createAccount(world.stack, world.adminKey, "mock-second", ["echo"]);
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

async function raw(method: string, path: string, body?: string, key = world.vat) {
  const res = await fetch(`${world.stack.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json as { error?: { message: string; type: string; code: string } } };
}

function expectOpenAIError(body: unknown): void {
  expect(body).toMatchObject({
    error: { message: expect.any(String), type: expect.any(String), code: expect.any(String) },
  });
}

describe("a conversation kept on an account the caller lost", () => {
  beforeAll(async () => {
    await grant(world.stack, world.adminKey, "mock-second", { kind: "virtual_account", id: world.vaId });
  });

  it("cannot be continued, read or referenced through another account once the grant is removed", async () => {
    const { va, key } = await newVirtualAccount(world.stack, world.adminKey, `leaver-${Date.now()}`);
    const onA = await grant(world.stack, world.adminKey, "mock-main", { kind: "virtual_account", id: va.id });
    await grant(world.stack, world.adminKey, "mock-second", { kind: "virtual_account", id: va.id });
    const app = world.openai(key);
    const kept = await app.responses.create({ model: "mock-main/echo", input: "the launch codes are 0000" });
    const itemId = kept.output[0]?.id ?? "";

    await must(world.stack, world.adminKey, "DELETE", `/api/v1/provider-accounts/mock-main/grants/${onA.id}`);

    // Still allowed on B, but B must not replay what was kept on A.
    const viaB = await caught(() =>
      app.responses.create({ model: "mock-second/echo", input: "repeat it", previous_response_id: kept.id }),
    );
    expect(viaB).toBeInstanceOf(OpenAI.APIError);
    expect([400, 404]).toContain((viaB as InstanceType<typeof OpenAI.APIError>).status);
    const refViaB = await caught(() =>
      app.responses.create({ model: "mock-second/echo", input: [{ type: "item_reference", id: itemId }] }),
    );
    expect(refViaB).toBeInstanceOf(OpenAI.APIError);
    expect([400, 404]).toContain((refViaB as InstanceType<typeof OpenAI.APIError>).status);
    for (const read of [
      () => app.responses.retrieve(kept.id),
      () => app.responses.inputItems.list(kept.id),
    ]) {
      const error = await caught(read);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect([403, 404]).toContain((error as InstanceType<typeof OpenAI.APIError>).status);
    }
    // A call that names nothing from A still works on B.
    expect((await app.responses.create({ model: "mock-second/echo", input: "hello" })).status).toBe(
      "completed",
    );
  });

  it("is refused on another account even while the caller still has both", async () => {
    const app = world.openai();
    const kept = await app.responses.create({ model: "mock-main/echo", input: "kept on main" });
    const error = await caught(() =>
      app.responses.create({ model: "mock-second/echo", input: "go on", previous_response_id: kept.id }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain("mock-main");
  });
});

describe("a deeply nested body", () => {
  const nested = (depth: number, leaf = "1") => `${"[".repeat(depth)}${leaf}${"]".repeat(depth)}`;
  const objects = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

  it.each([
    [
      "input items",
      (d: number) => `{"model":"mock-main/echo","input":[{"role":"user","content":${nested(d)}}]}`,
    ],
    [
      "a tool schema",
      (d: number) =>
        `{"model":"mock-main/echo","input":"x","tools":[{"type":"function","name":"f","parameters":${objects(d)}}]}`,
    ],
    [
      "text.format's schema",
      (d: number) =>
        `{"model":"mock-main/echo","input":"x","text":{"format":{"type":"json_schema","name":"s","schema":${objects(d)}}}}`,
    ],
  ])("in %s is a 400 in OpenAI's dialect, before anything reaches a provider", async (_label, body) => {
    for (const depth of [200, 50_000]) {
      const res = await raw("POST", "/v1/responses", body(depth));
      expect(res.status).toBe(400);
      expectOpenAIError(res.body);
      expect(res.body.error?.message).toMatch(/nest/i);
    }
    // The same shape at a sane depth is an ordinary call.
    const fine = await raw("POST", "/v1/responses", body(20));
    expect(fine.status).toBeLessThan(500);
  });

  it("on chat completions too", async () => {
    const res = await raw(
      "POST",
      "/v1/chat/completions",
      `{"model":"mock-main/echo","messages":[{"role":"user","content":"x"}],"metadata":${objects(10_000)}}`,
    );
    expect(res.status).toBe(400);
    expectOpenAIError(res.body);
  });
});

describe("routes and methods nobody documented", () => {
  it.each([
    ["PUT", "/v1/responses"],
    ["GET", "/v1/responses"],
    ["PATCH", "/v1/responses/resp_abc"],
    ["POST", "/v1/responses/resp_abc"],
    ["GET", "/v1/responses/resp_abc/output_items"],
    ["POST", "/v1/responses/resp_abc/cancel/now"],
    ["DELETE", "/v1/chat/completions"],
    ["GET", "/v1/nothing-here"],
  ])("%s %s answers in OpenAI's error dialect", async (method, path) => {
    const res = await raw(method, path);
    expect([404, 405]).toContain(res.status);
    expectOpenAIError(res.body);
  });
});

describe("input_items paging", () => {
  it.each([
    ["limit=abc", "limit"],
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["order=sideways", "order"],
    ["after=item_that_does_not_exist", "after"],
  ])("?%s is a 400 naming the parameter", async (query, param) => {
    const app = world.openai();
    const kept = await app.responses.create({ model: "mock-main/echo", input: "page me" });
    const res = await raw("GET", `/v1/responses/${kept.id}/input_items?${query}`);
    expect(res.status).toBe(400);
    expectOpenAIError(res.body);
    expect(res.body.error?.message).toContain(param);
  });

  it.each([
    [`${"k".repeat(40)}=1`],
    [`include=${"x".repeat(300)}`],
    [Array.from({ length: 200 }, (_, i) => `p${i}=1`).join("&")],
  ])("odd query parameters (%#) are never a 500", async (query) => {
    const kept = await world.openai().responses.create({ model: "mock-main/echo", input: "odd" });
    for (const path of [`/v1/responses/${kept.id}`, `/v1/responses/${kept.id}/input_items`]) {
      const res = await raw("GET", `${path}?${query}`);
      expect(res.status).toBeLessThan(500);
      if (res.status >= 400) expectOpenAIError(res.body);
    }
  });

  it("pages with after in both orders", async () => {
    const app = world.openai();
    const kept = await app.responses.create({
      model: "mock-main/echo",
      input: [
        { role: "user", content: "one" },
        { role: "user", content: "two" },
        { role: "user", content: "three" },
      ],
    });
    const first = await raw("GET", `/v1/responses/${kept.id}/input_items?limit=1&order=asc`);
    expect(first.status).toBe(200);
    const page = first.body as unknown as { data: Array<{ id: string }>; has_more: boolean; last_id: string };
    expect(page.has_more).toBe(true);
    const next = await raw(
      "GET",
      `/v1/responses/${kept.id}/input_items?limit=5&order=asc&after=${page.last_id}`,
    );
    const rest = next.body as unknown as { data: Array<{ id: string }>; has_more: boolean };
    expect(rest.data).toHaveLength(2);
    expect(rest.has_more).toBe(false);
  });
});

describe("store: false on a translated account", () => {
  it("keeps nothing: the id answers 404 afterwards", async () => {
    const app = world.openai();
    const unkept = await app.responses.create({ model: "mock-main/echo", input: "forget me", store: false });
    expect(await caught(() => app.responses.retrieve(unkept.id))).toBeInstanceOf(OpenAI.NotFoundError);
  });
});

describe("built-in tools on a translated account", () => {
  it("are a 400 naming the field and the account type", async () => {
    const error = await caught(() =>
      world.openai().responses.create({
        model: "mock-main/echo",
        input: "search",
        tools: [{ type: "web_search_preview" }],
      }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const message = (error as InstanceType<typeof OpenAI.BadRequestError>).message;
    expect(message).toContain("tools");
    expect(message).toContain("mock");
  });
});
