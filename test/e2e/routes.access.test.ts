import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grant, modelIds, must, newVirtualAccount } from "./access-api.js";
import { call, newMember } from "./identity-api.js";
import { caught } from "./inference-harness.js";
import { type RoutesWorld, startRoutesWorld } from "./routes-world.js";

let world: RoutesWorld;

beforeAll(async () => {
  world = await startRoutesWorld();
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

const ask = { messages: [{ role: "user" as const, content: "hi" }] };
const chatOn = (client: OpenAI, model: string) => client.chat.completions.create({ model, ...ask });

describe("who may call a route", () => {
  it("an ungranted route is 403, an unknown one 404; /v1/models lists only granted routes", async () => {
    await world.route({ name: "smart", kind: "chat", targets: [{ model: "up-a/gpt" }] });
    const denied = await caught(() => chatOn(world.openai(), "smart"));
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((denied as Error).message).toContain("route 'smart'");
    expect(await caught(() => chatOn(world.openai(), "no-such-route"))).toBeInstanceOf(OpenAI.NotFoundError);
    expect(await modelIds(world.stack, world.vat)).not.toContain("smart");

    await world.grantRoute("smart");
    const answer = await chatOn(world.openai(), "smart");
    expect(answer.choices[0]?.message.content).toBeTruthy();
    expect(await modelIds(world.stack, world.vat)).toEqual(["smart"]);
    const retrieved = await world.openai().models.retrieve("smart");
    expect(retrieved).toMatchObject({ id: "smart", owned_by: "route" });
  });

  it("a route grant does not open its targets, and an account grant does not open a route", async () => {
    // The world's app holds a grant on `smart` (above) and none on up-a.
    expect(await caught(() => chatOn(world.openai(), "up-a/gpt"))).toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );

    const other = await newVirtualAccount(world.stack, world.adminKey, `acct-only-${Date.now()}`);
    await grant(world.stack, world.adminKey, "up-a", { kind: "virtual_account", id: other.va.id });
    const client = world.openai(other.key);
    expect((await chatOn(client, "up-a/gpt")).choices[0]?.message.content).toBeTruthy();
    expect(await caught(() => chatOn(client, "smart"))).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(await modelIds(world.stack, other.key)).not.toContain("smart");
  });

  it("removing a route grant refuses the next call at once", async () => {
    await world.route({ name: "revocable", kind: "chat", targets: [{ model: "up-b/gpt" }] });
    const g = await must(
      world.stack,
      world.adminKey,
      "POST",
      "/api/v1/routes/revocable/grants",
      { subject: { kind: "virtual_account", id: world.vaId }, role: "user" },
      201,
    );
    expect(g).toMatchObject({ route: "revocable", role: "user" });
    await chatOn(world.openai(), "revocable"); // cached allow
    const removed = await must(
      world.stack,
      world.adminKey,
      "DELETE",
      `/api/v1/routes/revocable/grants/${g.id}`,
    );
    expect(removed.propagation).toMatchObject({ complete: true });
    expect(await caught(() => chatOn(world.openai(), "revocable"))).toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
  });

  it("deleting a route stops its calls and drops its grants", async () => {
    await world.route({ name: "short-lived", kind: "chat", targets: [{ model: "up-c/gpt" }] });
    await world.grantRoute("short-lived");
    await chatOn(world.openai(), "short-lived");
    await must(world.stack, world.adminKey, "DELETE", "/api/v1/routes/short-lived");
    expect(await caught(() => chatOn(world.openai(), "short-lived"))).toBeInstanceOf(OpenAI.NotFoundError);
    // A new route of the same name does not inherit the old grants.
    await world.route({ name: "short-lived", kind: "chat", targets: [{ model: "up-c/gpt" }] });
    expect(await caught(() => chatOn(world.openai(), "short-lived"))).toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
  });

  it("the Responses API is not offered through a route", async () => {
    const err = await caught(() => world.openai().responses.create({ model: "smart", input: "hi" }));
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
  });
});

describe("who may write a route", () => {
  it("a member who manages every target may create one; managing only some is 403", async () => {
    const member = await newMember(world.stack, world.adminKey, "router");
    await grant(world.stack, world.adminKey, "up-a", { kind: "user", id: member.user.id }, "manager");
    const body = (targets: string[]) => ({
      name: `member-${targets.length}-${Date.now()}`,
      kind: "chat",
      targets: targets.map((model) => ({ model })),
    });
    const partial = await call(
      world.stack,
      member.key,
      "POST",
      "/api/v1/routes",
      body(["up-a/gpt", "up-b/gpt"]),
    );
    expect(partial.status).toBe(403);
    const own = await call(world.stack, member.key, "POST", "/api/v1/routes", body(["up-a/gpt"]));
    expect(own.status).toBe(201);
    // Granting on it is for admins and the route's managers: the member has no grant on it yet.
    const g = await call(world.stack, member.key, "POST", `/api/v1/routes/${own.body.name}/grants`, {
      subject: { kind: "virtual_account", id: world.vaId },
      role: "user",
    });
    expect(g.status).toBe(403);
  });

  it("a member who manages every target but holds no grant on the route may not delete it, and nothing goes", async () => {
    // docs/routing.md: DELETE is for admins, or a manager of every target account who may also drop
    // the route's grants (a manager of the route). The grants' purge comes first and refuses.
    const member = await newMember(world.stack, world.adminKey, "deleter");
    await grant(world.stack, world.adminKey, "up-a", { kind: "user", id: member.user.id }, "manager");
    const name = `member-del-${Date.now()}`;
    const made = await call(world.stack, member.key, "POST", "/api/v1/routes", {
      name,
      kind: "chat",
      targets: [{ model: "up-a/gpt" }],
    });
    expect(made.status).toBe(201);
    await world.grantRoute(name);

    const refused = await call(world.stack, member.key, "DELETE", `/api/v1/routes/${name}`);
    expect(refused.status).toBe(403);
    // Neither the route nor its grant was touched: the app still calls it.
    await must(world.stack, world.adminKey, "GET", `/api/v1/routes/${name}`);
    const grants = await must(world.stack, world.adminKey, "GET", `/api/v1/routes/${name}/grants`);
    expect(JSON.stringify(grants)).toContain(world.vaId);
    expect(
      (
        await world
          .openai()
          .chat.completions.create({ model: name, messages: [{ role: "user", content: "hi" }] })
      ).choices,
    ).toHaveLength(1);

    // As a manager of the route too, the member may.
    await must(
      world.stack,
      world.adminKey,
      "POST",
      `/api/v1/routes/${name}/grants`,
      { subject: { kind: "user", id: member.user.id }, role: "manager" },
      201,
    );
    expect((await call(world.stack, member.key, "DELETE", `/api/v1/routes/${name}`)).status).toBe(200);
    expect((await call(world.stack, world.adminKey, "GET", `/api/v1/routes/${name}`)).status).toBe(404);
  });

  it("targets must exist and be of the route's kind; names have no slash", async () => {
    const bad = async (body: Record<string, unknown>) =>
      call(world.stack, world.adminKey, "POST", "/api/v1/routes", { kind: "chat", ...body });
    expect((await bad({ name: "x1", targets: [{ model: "nope/gpt" }] })).status).toBe(422);
    expect((await bad({ name: "x2", targets: [{ model: "up-a/missing" }] })).status).toBe(422);
    expect((await bad({ name: "x3", targets: [{ model: "up-a/emb" }] })).status).toBe(422);
    expect((await bad({ name: "a/b", targets: [{ model: "up-a/gpt" }] })).status).toBe(422);
    expect((await bad({ name: "x4", targets: [] })).status).toBe(422);
    expect((await bad({ name: "SMART", targets: [{ model: "up-a/gpt" }] })).status).toBe(409);
  });

  it("a target's account cannot be deleted while a route uses it (409), and can once it is taken out", async () => {
    await must(
      world.stack,
      world.adminKey,
      "POST",
      "/api/v1/provider-accounts",
      { name: "doomed", type: "mock", models: [{ name: "echo", kind: "chat" }] },
      201,
    );
    await world.route({
      name: "uses-doomed",
      kind: "chat",
      targets: [{ model: "doomed/echo" }, { model: "up-a/gpt" }],
    });
    const refused = await call(world.stack, world.adminKey, "DELETE", "/api/v1/provider-accounts/doomed");
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toContain("uses-doomed");
    const patched = await must(world.stack, world.adminKey, "PATCH", "/api/v1/routes/uses-doomed", {
      targets: [{ model: "up-a/gpt" }],
    });
    expect(patched.targets).toEqual([{ model: "up-a/gpt", weight: 1 }]);
    await must(world.stack, world.adminKey, "DELETE", "/api/v1/provider-accounts/doomed");
  });

  it("route changes are audited", async () => {
    const audit = await must(
      world.stack,
      world.adminKey,
      "GET",
      "/api/v1/access-audit-events?source=dispatch&limit=200",
    );
    const actions = (audit.data as Array<{ action: string }>).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["route.create", "route.update", "route.delete"]));
  });
});
