import { randomUUID } from "node:crypto";
import { BusClient, encodeJson } from "@gatehouse/bus";
import {
  type Actor,
  aclAdminTeamsCreate,
  authAdminUsersCreate,
  dispatchAdminAccountsCreate,
  type FeedHeartbeat,
} from "@gatehouse/contracts";
import { generateKey, hashKey } from "@gatehouse/keys";
import { connect, type NatsConnection } from "nats";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, grant, must, newVirtualAccount } from "./access-api.js";
import { startShippedNats } from "./bus-auth.js";
import { call } from "./identity-api.js";

let nats: Awaited<ReturnType<typeof startShippedNats>>;
let stack: TestStack;
const adminKey = generateKey("pat");
const opened: NatsConnection[] = [];

beforeAll(async () => {
  nats = await startShippedNats();
  stack = await startTestStack({
    natsUrl: nats.url,
    // The shipped file permits the default prefix.
    prefix: "gatehouse",
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey, ACCESS_LEASE_MS: "1000", USAGE_FLUSH_MS: "50" },
    ingressReplicas: 2,
    serviceEnv: nats.serviceUsers(),
  });
});
afterAll(async () => {
  await Promise.allSettled(opened.map((nc) => nc.close()));
  await stack?.stop();
  await nats?.stop();
});

async function as(service: "auth" | "acl" | "dispatch" | "ingress"): Promise<NatsConnection> {
  const nc = await nats.connectAs(service);
  opened.push(nc);
  return nc;
}

/** How nats-server logs a refused publish (or subscription) by one user. */
const violation = (user: string, subject: string, kind: "Publish" | "Subscription" = "Publish") =>
  `${kind} Violation - User "${user}", Subject "${subject}"`;

describe("the bus with infra/nats/nats.conf: every service its own user and subjects", () => {
  it("refuses a connection without credentials, or with another service's password", async () => {
    await expect(connect({ servers: nats.url, maxReconnectAttempts: 0 })).rejects.toMatchObject({
      code: "AUTHORIZATION_VIOLATION",
    });
    await expect(
      connect({ servers: nats.url, user: "auth", pass: nats.passwords.ingress, maxReconnectAttempts: 0 }),
    ).rejects.toMatchObject({ code: "AUTHORIZATION_VIOLATION" });
  });

  it("does not let the dispatch user ask auth's admin subjects", async () => {
    const nc = await as("dispatch");
    const client = new BusClient(nc, "gatehouse", 1_000);
    const admin = await must(stack, adminKey, "GET", "/api/v1/me");
    const actor: Actor = {
      principal: admin.principal,
      keyId: admin.key_id,
      keyHash: hashKey(adminKey),
      requestId: "from-dispatch",
    };
    await expect(
      client.request(authAdminUsersCreate, { actor, email: "via-dispatch@example.com", name: "x" }),
    ).rejects.toMatchObject({ code: "service_unavailable" });
    expect(nats.log()).toContain(violation("dispatch", "gatehouse.v1.auth.admin.users.create"));
    const users = await must(stack, adminKey, "GET", "/api/v1/users?limit=200");
    expect(users.data.map((u: { email: string }) => u.email)).not.toContain("via-dispatch@example.com");
  });

  it("does not let the ingress user publish access events or heartbeats, nor answer auth.validate", async () => {
    const nc = await as("ingress");
    const before = (await (await nc.jetstreamManager()).streams.info("gatehouse_access_events")).state;
    const fake = encodeJson({ source: "auth", sequence: 1_000_000, event: { type: "keys.all_revoked" } });
    await expect(
      nc.jetstream().publish("gatehouse.v1.events.access.auth", fake, { timeout: 1_000 }),
    ).rejects.toBeDefined();
    const hb: FeedHeartbeat = { source: "auth", committedSequence: 1_000_000, at: new Date().toISOString() };
    nc.publish("gatehouse.v1.events.heartbeat.auth", encodeJson(hb));
    const answering = nc.subscribe("gatehouse.v1.auth.validate");
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    const log = nats.log();
    expect(log).toContain(violation("ingress", "gatehouse.v1.events.access.auth"));
    expect(log).toContain(violation("ingress", "gatehouse.v1.events.heartbeat.auth"));
    expect(log).toContain(violation("ingress", "gatehouse.v1.auth.validate", "Subscription"));
    expect(answering.isClosed()).toBe(true);
    // Nor create the access-event stream (whoever creates it chooses where the server republishes).
    await expect(
      (await nc.jetstreamManager()).streams.add({
        name: "gatehouse_access_events",
        subjects: ["gatehouse.v1.events.access.*"],
      }),
    ).rejects.toBeDefined();
    expect(nats.log()).toContain(violation("ingress", "$JS.API.STREAM.CREATE.gatehouse_access_events"));
    const after = (await (await nc.jetstreamManager()).streams.info("gatehouse_access_events")).state;
    expect(after.last_seq).toBe(before.last_seq);
  });

  it("does not let the ingress user answer what a service asked: it may reply on sync inboxes only", async () => {
    // acl's own requests (auth.actor.verify among them) are answered on `_INBOX.acl.<id>.<token>`.
    const acl = await as("acl");
    const heard: string[] = [];
    acl.subscribe("_INBOX.acl.victim.*", { callback: (_err, msg) => heard.push(msg.subject) });
    acl.subscribe("_INBOX.acl.sync.victim", { callback: (_err, msg) => heard.push(msg.subject) });
    await acl.flush();
    const nc = await as("ingress");
    const forged = encodeJson({ principal: { kind: "user", id: randomUUID(), role: "admin" } });
    nc.publish("_INBOX.acl.victim.1", forged);
    nc.publish("_INBOX.acl.sync.victim", encodeJson({ replica: "r", applied: true, waitedMs: 0 }));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(nats.log()).toContain(violation("ingress", "_INBOX.acl.victim.1"));
    expect(heard).toEqual(["_INBOX.acl.sync.victim"]);
  });

  it("does not let a service answer what ingress asked another: dispatch cannot pose as auth", async () => {
    // dispatch sees ingress's reply subjects for what it is asked; auth's answers go elsewhere.
    const ingress = await as("ingress");
    const heard: string[] = [];
    ingress.subscribe("_INBOX.ingress.auth.victim.*", { callback: (_err, msg) => heard.push(msg.subject) });
    ingress.subscribe("_INBOX.ingress.dispatch.victim.*", {
      callback: (_err, msg) => heard.push(msg.subject),
    });
    await ingress.flush();
    const nc = await as("dispatch");
    nc.publish("_INBOX.ingress.auth.victim.1", encodeJson({ valid: true }));
    nc.publish("_INBOX.ingress.dispatch.victim.1", encodeJson({}));
    await nc.flush();
    await new Promise((r) => setTimeout(r, 200));
    expect(nats.log()).toContain(violation("dispatch", "_INBOX.ingress.auth.victim.1"));
    expect(heard).toEqual(["_INBOX.ingress.dispatch.victim.1"]);
  });

  it("lets no user but dispatch clear grants: that is dispatch's step in a create or delete", async () => {
    for (const user of ["ingress", "auth"] as const) {
      const nc = await as(user);
      nc.publish("gatehouse.v1.acl.grants.clear", encodeJson({}));
      await nc.flush();
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(nats.log()).toContain(violation("ingress", "gatehouse.v1.acl.grants.clear"));
    expect(nats.log()).toContain(violation("auth", "gatehouse.v1.acl.grants.clear"));
  });

  it("refuses a forged actor at auth, acl and dispatch, even from the user allowed to ask them", async () => {
    const client = new BusClient(await as("ingress"), "gatehouse", 5_000);
    const forged: Actor = {
      principal: { id: randomUUID(), kind: "user", name: "mallory", role: "admin" },
      keyId: randomUUID(),
      keyHash: hashKey(generateKey("pat")),
      requestId: "forged",
    };
    await expect(
      client.request(authAdminUsersCreate, { actor: forged, email: "forged@example.com", name: "x" }),
    ).rejects.toMatchObject({ code: "invalid_api_key" });
    await expect(
      client.request(aclAdminTeamsCreate, { actor: forged, name: "forged" }),
    ).rejects.toMatchObject({
      code: "invalid_api_key",
    });
    await expect(
      client.request(dispatchAdminAccountsCreate, { actor: forged, name: "forged", type: "mock" }),
    ).rejects.toMatchObject({ code: "invalid_api_key" });

    // The admin's real key hash with somebody else's identity: refused, not acted on as either.
    const other: Actor = { ...forged, keyHash: hashKey(adminKey) };
    await expect(client.request(aclAdminTeamsCreate, { actor: other, name: "forged" })).rejects.toMatchObject(
      {
        code: "permission_denied",
      },
    );
    await expect(
      client.request(dispatchAdminAccountsCreate, { actor: other, name: "forged", type: "mock" }),
    ).rejects.toMatchObject({ code: "permission_denied" });
  });

  it("serves a chat call, an admin call and a confirmed revoke with per-service users", async () => {
    // Readiness pings every service through the services API ($SRV discovery).
    expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
    await createAccount(stack, adminKey, "mock-main", ["echo"]);
    const { va, key } = await newVirtualAccount(stack, adminKey, "app");
    await grant(stack, adminKey, "mock-main", { kind: "virtual_account", id: va.id });
    const openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: key, maxRetries: 0 });
    const completion = await openai.chat.completions.create({
      model: "mock-main/echo",
      messages: [{ role: "user", content: "hello" }],
    });
    expect(completion.choices[0]?.message.content).toBe("mock: hello");
    const stream = await openai.chat.completions.create({
      model: "mock-main/echo",
      messages: [{ role: "user", content: "streamed" }],
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
    expect(text).toBe("mock: streamed");

    const tokens = await must(stack, adminKey, "GET", `/api/v1/virtual-accounts/${va.id}/tokens`);
    const revoke = await call(
      stack,
      adminKey,
      "DELETE",
      `/api/v1/virtual-accounts/${va.id}/tokens/${tokens.data[0].id}`,
    );
    expect(revoke.status).toBe(200);
    expect(revoke.body.propagation).toMatchObject({ replicas: 2, confirmed: 2, complete: true });
    for (const replica of stack.ingress) {
      const res = await fetch(`${replica.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(401);
    }
  });

  it("needed no subject the file does not grant: the only refusals are the ones provoked above", async () => {
    // Past a usage flush: the usage stream's publisher and consumer have done their work too.
    await new Promise((r) => setTimeout(r, 500));
    const refused = [
      ...nats.log().matchAll(/(Publish|Subscription) Violation - User "[^"]*", Subject "[^"]*"/g),
    ].map((m) => m[0]);
    expect(new Set(refused)).toEqual(
      new Set([
        violation("dispatch", "gatehouse.v1.auth.admin.users.create"),
        violation("ingress", "gatehouse.v1.events.access.auth"),
        violation("ingress", "gatehouse.v1.events.heartbeat.auth"),
        violation("ingress", "gatehouse.v1.auth.validate", "Subscription"),
        violation("ingress", "_INBOX.acl.victim.1"),
        violation("ingress", "$JS.API.STREAM.CREATE.gatehouse_access_events"),
        violation("dispatch", "_INBOX.ingress.auth.victim.1"),
        violation("ingress", "gatehouse.v1.acl.grants.clear"),
        violation("auth", "gatehouse.v1.acl.grants.clear"),
      ]),
    );
  });
});
