import { randomUUID } from "node:crypto";
import { type BusConnection, connectBus, encodeJson } from "@gatehouse/bus";
import { type AccessEventEnvelope, accessEventSubject } from "@gatehouse/contracts";
import { EgressPolicy, EMPTY_ALLOWLIST } from "@gatehouse/egress";
import { captureLogger, startTcpProxy, testNatsUrl, testPrefix, waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountSource, dropOnAccountEvents, ProviderClients } from "../src/invoke/clients.js";

const { logger } = captureLogger("clients-events-test");
const prefix = testPrefix();
let bus: BusConnection;
const loads: string[] = [];

const source: AccountSource = {
  async load(name) {
    loads.push(name);
    return {
      account: {
        name,
        type: "openai",
        baseUrl: "http://127.0.0.1:9/v1",
        credentials: { apiKey: "sk-x" },
        options: {},
      },
      enabled: true,
      prices: new Map(),
      version: randomUUID(),
    };
  },
};

const options = {
  egress: new EgressPolicy({ allow: EMPTY_ALLOWLIST, allowLoopback: false }),
  connectTimeoutMs: 1_000,
  firstByteTimeoutMs: 1_000,
  idleTimeoutMs: 1_000,
  maxRetries: 0,
};
const clients = new ProviderClients(source, options, 60_000);
const routeEvents: string[] = [];

beforeAll(async () => {
  bus = await connectBus({ url: await testNatsUrl(), name: "clients-events-test", logger });
  dropOnAccountEvents(bus.nc, prefix, clients, {
    drop: (name) => routeEvents.push(`drop ${name}`),
    clear: () => routeEvents.push("clear"),
    forget: (name) => routeEvents.push(`forget ${name}`),
  });
  await bus.nc.flush();
});

afterAll(async () => {
  await clients.close();
  await bus?.drain();
});

let sequence = 0;
function publish(event: AccessEventEnvelope["event"]): void {
  const envelope: AccessEventEnvelope = {
    source: "dispatch",
    sequence: ++sequence,
    at: new Date().toISOString(),
    event,
  };
  bus.nc.publish(accessEventSubject(prefix, "dispatch"), encodeJson(envelope));
}

const loadsOf = (name: string) => loads.filter((n) => n === name).length;

describe("provider clients and account events", () => {
  it("keep an account for the TTL, and forget it when it is disabled or deleted anywhere", async () => {
    const first = await clients.get("acct-a");
    await clients.get("acct-a");
    expect(loadsOf("acct-a")).toBe(1);

    publish({ type: "account.disabled", account: "acct-a" });
    await waitFor(async () => {
      await clients.get("acct-a");
      return loadsOf("acct-a") === 2;
    }, 2_000);
    const second = await clients.get("acct-a");
    expect(second?.client).not.toBe(first?.client);

    publish({ type: "account.deleted", account: "acct-a" });
    await waitFor(async () => {
      await clients.get("acct-a");
      return loadsOf("acct-a") === 3;
    }, 2_000);
  });

  it("drop a changed route's plan, and forget a deleted one's breakers too", async () => {
    routeEvents.length = 0;
    publish({ type: "route.updated", route: "changed" });
    publish({ type: "route.deleted", route: "gone" });
    await waitFor(async () => routeEvents.length >= 3, 2_000);
    expect(routeEvents).toEqual(["drop changed", "drop gone", "forget gone"]);
  });

  it("ignore other events and junk", async () => {
    await clients.get("acct-b");
    publish({ type: "grant.removed", subject: { kind: "user", id: randomUUID() }, account: "acct-b" });
    bus.nc.publish(accessEventSubject(prefix, "dispatch"), new TextEncoder().encode("not json"));
    await bus.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    await clients.get("acct-b");
    expect(loadsOf("acct-b")).toBe(1);
  });

  it("forget every account and plan after a reconnect: an event sent while away never arrives", async () => {
    // A replica of its own, whose link to NATS the test can cut.
    const url = new URL(await testNatsUrl());
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 4222));
    const away = await connectBus({ url: `nats://127.0.0.1:${proxy.port}`, name: "clients-away", logger });
    const mine = new ProviderClients(source, options, 60_000);
    let cleared = 0;
    dropOnAccountEvents(away.nc, prefix, mine, { drop: () => {}, clear: () => cleared++ });
    try {
      await away.nc.flush();
      await mine.get("acct-c");
      expect(loadsOf("acct-c")).toBe(1);
      proxy.cut();
      await waitFor(async () => !away.isConnected(), 5_000);
      publish({ type: "account.disabled", account: "acct-c" });
      await bus.nc.flush();
      proxy.restore();
      await waitFor(async () => away.isConnected(), 10_000);
      await waitFor(async () => cleared > 0, 2_000);
      expect(mine.peek("acct-c")).toBeUndefined();
      await mine.get("acct-c");
      expect(loadsOf("acct-c")).toBe(2);
    } finally {
      await away.drain();
      await mine.close();
      await proxy.close();
    }
  }, 20_000);
});
