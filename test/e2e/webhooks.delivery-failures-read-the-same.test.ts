import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { generateKey } from "@gatehouse/keys";
import { waitFor } from "@gatehouse/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { must } from "./access-api.js";
import { call } from "./identity-api.js";

/**
 * An admin registers outbound webhook endpoints and reads their deliveries. If a refused
 * connection, a timeout and a policy refusal read differently in `last_error`, endpoints become a
 * port scanner for the internal network. The stack allows 127.0.0.1 (so real connections are made
 * there); everything else internal is refused by the egress policy.
 */
let stack: TestStack;
let sql: postgres.Sql;
const adminKey = generateKey("pat");
const servers: Server[] = [];
const sockets: Socket[] = [];
const received: Record<string, number> = { silent: 0, failing: 0, ok: 0 };

async function listen(name: keyof typeof received, answer: number | null): Promise<number> {
  const server = createServer((req, res) => {
    received[name] = (received[name] ?? 0) + 1;
    req.resume();
    if (answer !== null) res.writeHead(answer).end();
  });
  server.on("connection", (socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      AUTH_WEBHOOK_KEY: randomBytes(32).toString("base64"),
      AUTH_WEBHOOK_POLL_MS: "100",
      // One attempt during the test: the retry would come an hour later.
      AUTH_WEBHOOK_RETRY_BASE_MS: "3600000",
      AUTH_WEBHOOK_TIMEOUT_MS: "500",
    },
  });
  sql = postgres(stack.env.DATABASE_URL ?? "", { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await sql?.end({ timeout: 2 });
  await stack?.stop();
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function endpoint(url: string): Promise<string> {
  const created = await must(
    stack,
    adminKey,
    "POST",
    "/api/v1/webhooks/endpoints",
    { url, event_types: ["key.created"] },
    201,
  );
  return created.id as string;
}

describe("outbound webhook deliveries", () => {
  it("read the same for a closed port, a silent one and a refused address; HTTP statuses show", async () => {
    const okPort = await listen("ok", 204);
    const ids = {
      closed: await endpoint(`http://127.0.0.1:${await closedPort()}/hooks`),
      silent: await endpoint(`http://127.0.0.1:${await listen("silent", null)}/hooks`),
      failing: await endpoint(`http://127.0.0.1:${await listen("failing", 503)}/hooks`),
      ok: await endpoint(`http://127.0.0.1:${okPort}/hooks`),
      // Stored before the policy (or a name that now resolves inward): refused at connect time.
      refused: await endpoint("https://hooks.example.com/"),
    };
    await sql`update auth.webhook_endpoints set url = ${`http://127.0.0.2:${okPort}/hooks`} where id = ${ids.refused}`;

    await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/personal-access-tokens",
      { name: "triggers key.created" },
      201,
    );

    const deliveries: Record<
      string,
      { status: string; last_status: number | null; last_error: string | null }
    > = {};
    await waitFor(
      async () => {
        for (const [name, id] of Object.entries(ids)) {
          const page = await must(stack, adminKey, "GET", `/api/v1/webhooks/deliveries?endpoint_id=${id}`);
          const delivery = page.data[0];
          if (delivery && (delivery.attempts > 0 || delivery.status === "delivered"))
            deliveries[name] = delivery;
        }
        return Object.keys(deliveries).length === Object.keys(ids).length;
      },
      15_000,
      100,
    );

    expect(deliveries.ok).toMatchObject({ status: "delivered", last_status: 204, last_error: null });
    expect(deliveries.failing).toMatchObject({ last_status: 503, last_error: "endpoint answered 503" });
    const unanswered = [deliveries.closed, deliveries.silent, deliveries.refused];
    for (const d of unanswered) expect(d).toMatchObject({ status: "pending", last_status: null });
    expect(new Set(unanswered.map((d) => d?.last_error))).toEqual(
      new Set(["could not deliver: the endpoint gave no HTTP answer (the cause is in auth's log)"]),
    );
    // The refused address was never connected to; the silent one was, and said nothing.
    expect(received).toEqual({ silent: 1, failing: 1, ok: 1 });
    expect(stack.logs.text()).toContain("egress policy refused 127.0.0.2");
  });

  it("refuses to register an endpoint on an address outside the allowlist", async () => {
    const res = await call(stack, adminKey, "POST", "/api/v1/webhooks/endpoints", {
      url: "http://169.254.169.254/latest/meta-data",
      event_types: ["key.created"],
    });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toContain("link-local addresses are refused by the egress policy");
  });
});
