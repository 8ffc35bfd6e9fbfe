import { setTimeout as delay } from "node:timers/promises";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grant, must, newVirtualAccount } from "./access-api.js";
import { caught } from "./inference-harness.js";
import { chatRequests, type RoutesWorld, startRoutesWorld } from "./routes-world.js";

/**
 * What a route change does to calls while every cache on the way is warm, or past its TTL and being
 * read again (ingress's route names, dispatch's plans and target accounts; 5 s TTL in the stack):
 * each change that takes something away applies from the next call, whatever the caches hold.
 */
let world: RoutesWorld;

beforeAll(async () => {
  world = await startRoutesWorld();
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

const ask = { messages: [{ role: "user" as const, content: "hi" }] };
/** Past the ingress and dispatch TTLs (5 s), inside ingress's stale window and dispatch's second TTL. */
const PAST_TTL_MS = 5_500;

async function target(model: string, key = world.vat): Promise<string | null> {
  const { response } = await world
    .openai(key)
    .chat.completions.create({ model, ...ask })
    .withResponse();
  return response.headers.get("x-gatehouse-target");
}

const admin = (method: string, path: string, body?: unknown, status?: number) =>
  must(world.stack, world.adminKey, method, path, body, status);

describe("a route change reaches warm caches", () => {
  it("PATCHed targets take the next call, warm and past the TTL", async () => {
    await world.route({ name: "moving", kind: "chat", targets: [{ model: "up-a/gpt" }] });
    await world.grantRoute("moving");
    expect(await target("moving")).toBe("up-a/gpt");
    await admin("PATCH", "/api/v1/routes/moving", { targets: [{ model: "up-b/gpt" }] });
    const a = chatRequests(world.up.a);
    expect(await target("moving")).toBe("up-b/gpt");

    await delay(PAST_TTL_MS);
    expect(await target("moving")).toBe("up-b/gpt"); // starts the reads again, answers from the plan
    await admin("PATCH", "/api/v1/routes/moving", { targets: [{ model: "up-c/gpt" }] });
    expect(await target("moving")).toBe("up-c/gpt");
    expect(chatRequests(world.up.a)).toBe(a);
  }, 30_000);

  it("a disabled target's account gets no more calls, warm and while its account is read again", async () => {
    await world.route({
      name: "two-way",
      kind: "chat",
      targets: [{ model: "up-c/gpt" }, { model: "up-b/gpt" }],
    });
    await world.grantRoute("two-way");
    expect(await target("two-way")).toBe("up-c/gpt");
    const disabled = await admin("POST", "/api/v1/provider-accounts/up-c/disable");
    expect(disabled.propagation).toMatchObject({ complete: true });
    expect(await target("two-way")).toBe("up-b/gpt");

    await admin("POST", "/api/v1/provider-accounts/up-c/enable");
    // An enable is not an access event: dispatch sees it within its TTL.
    for (let i = 0; i < 40 && (await target("two-way")) !== "up-c/gpt"; i++) await delay(250);
    expect(await target("two-way")).toBe("up-c/gpt");
    await delay(PAST_TTL_MS);
    // This call is answered from the cached account and plan while both are read again; the
    // disable lands while those reads may be on their way.
    expect(await target("two-way")).toBe("up-c/gpt");
    const c = chatRequests(world.up.c);
    await admin("POST", "/api/v1/provider-accounts/up-c/disable");
    for (let i = 0; i < 5; i++) expect(await target("two-way")).toBe("up-b/gpt");
    expect(chatRequests(world.up.c)).toBe(c);
    await admin("POST", "/api/v1/provider-accounts/up-c/enable");
  }, 40_000);

  it("a route deleted past its TTL is gone at once; one re-created under its name has none of its grants or targets", async () => {
    await world.route({ name: "reborn", kind: "chat", targets: [{ model: "up-a/gpt" }] });
    await world.grantRoute("reborn");
    expect(await target("reborn")).toBe("up-a/gpt");
    await delay(PAST_TTL_MS);
    expect(await target("reborn")).toBe("up-a/gpt"); // stale entries, refreshed in the background
    await admin("DELETE", "/api/v1/routes/reborn");
    expect(await caught(() => target("reborn"))).toBeInstanceOf(OpenAI.NotFoundError);

    await world.route({ name: "reborn", kind: "chat", targets: [{ model: "up-b/gpt" }] });
    expect(await caught(() => target("reborn"))).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(await target("reborn", world.adminKey)).toBe("up-b/gpt");
    await world.grantRoute("reborn");
    expect(await target("reborn")).toBe("up-b/gpt");
  }, 30_000);

  it("a route named like an account: a grant on one opens only that one, and removing it leaves the other", async () => {
    await world.route({ name: "up-a", kind: "chat", targets: [{ model: "up-b/gpt" }] });
    const app = await newVirtualAccount(world.stack, world.adminKey, `same-name-${Date.now()}`);
    const subject = { kind: "virtual_account" as const, id: app.va.id };
    const onAccount = await grant(world.stack, world.adminKey, "up-a", subject);
    expect(await target("up-a/gpt", app.key)).toBe(null); // a direct call names no target
    expect(await caught(() => target("up-a", app.key))).toBeInstanceOf(OpenAI.PermissionDeniedError);

    const onRoute = await admin("POST", "/api/v1/routes/up-a/grants", { subject, role: "user" }, 201);
    expect(await target("up-a", app.key)).toBe("up-b/gpt");
    await admin("DELETE", `/api/v1/provider-accounts/up-a/grants/${onAccount.id}`);
    expect(await caught(() => target("up-a/gpt", app.key))).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(await target("up-a", app.key)).toBe("up-b/gpt");
    await admin("DELETE", `/api/v1/routes/up-a/grants/${onRoute.id}`);
    expect(await caught(() => target("up-a", app.key))).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it("a revoked key and a deleted virtual account are refused on a warm route at once", async () => {
    await world.route({ name: "keyed", kind: "chat", targets: [{ model: "up-a/gpt" }] });
    const app = await newVirtualAccount(world.stack, world.adminKey, `keyed-${Date.now()}`);
    await admin(
      "POST",
      "/api/v1/routes/keyed/grants",
      { subject: { kind: "virtual_account", id: app.va.id }, role: "user" },
      201,
    );
    const second = await admin("POST", `/api/v1/virtual-accounts/${app.va.id}/tokens`, { name: "b" }, 201);
    expect(await target("keyed", app.key)).toBe("up-a/gpt");
    expect(await target("keyed", second.key)).toBe("up-a/gpt");

    await admin("DELETE", `/api/v1/virtual-accounts/${app.va.id}/tokens/${second.id}`);
    expect(await caught(() => target("keyed", second.key))).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(await target("keyed", app.key)).toBe("up-a/gpt");
    await admin("DELETE", `/api/v1/virtual-accounts/${app.va.id}`);
    expect(await caught(() => target("keyed", app.key))).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
