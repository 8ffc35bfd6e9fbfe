import { randomUUID } from "node:crypto";
import { createServer, type Server, Socket } from "node:net";
import { aclAdminGrantsCreate, dispatchAdminAccountsCreate } from "@gatehouse/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DispatchHarness, startDispatch } from "./harness.js";

// A create whose COMMIT reaches Postgres but whose answer is lost (the connection drops) fails for
// dispatch, yet the account exists. Retiring its id at acl then would make the name stand for
// nothing while the account is there: every later grant on it refused, for good.

let h: DispatchHarness;
let proxy: Server;

/**
 * A TCP proxy to Postgres: on a connection that inserted a provider account named `cut-*`, the next
 * COMMIT is forwarded and then the client side is dropped before Postgres's answer reaches it.
 */
async function startProxy(target: URL): Promise<number> {
  proxy = createServer((client) => {
    const server = new Socket();
    let inserting = false;
    let armed = false;
    server.connect(Number(target.port || 5432), target.hostname);
    server.on("data", (d) => client.write(d));
    server.on("error", () => client.destroy());
    client.on("error", () => server.destroy());
    client.on("close", () => server.end());
    server.on("close", () => client.destroy());
    client.on("data", (d) => {
      const text = d.toString("latin1");
      if (/insert into "dispatch"."provider_accounts"/i.test(text)) inserting = true;
      if (inserting && text.includes("cut-acct")) armed = true;
      server.write(d);
      if (armed && /\bcommit\b/i.test(text)) {
        armed = false;
        server.removeAllListeners("data");
        setTimeout(() => client.destroy(), 200);
      }
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const address = proxy.address();
  if (address === null || typeof address === "string") throw new Error("proxy has no port");
  return address.port;
}

beforeAll(async () => {
  // Every service of the harness goes through the proxy; only dispatch inserts provider accounts.
  h = await startDispatch({}, async (url) => {
    const real = new URL(url);
    const proxied = new URL(url);
    proxied.hostname = "127.0.0.1";
    proxied.port = String(await startProxy(real));
    return proxied.toString();
  });
}, 60_000);
afterAll(async () => {
  await h?.stop();
  await new Promise((resolve) => proxy?.close(resolve));
});

describe("a create whose commit answer is lost", () => {
  it("leaves the account it made grantable", async () => {
    const admin = h.ids.admin;
    await expect(
      h.client.request(dispatchAdminAccountsCreate, {
        actor: admin,
        name: "cut-acct",
        type: "mock",
        models: [{ name: "m", kind: "chat" }],
      }),
    ).rejects.toThrow();
    const [row] = await h.sql`select id from dispatch.provider_accounts where name = 'cut-acct'`;
    expect(row?.id).toMatch(/^[0-9a-f-]{36}$/);
    const grant = await h.client.request(aclAdminGrantsCreate, {
      actor: admin,
      account: "cut-acct",
      resourceId: row?.id as string,
      subject: { kind: "virtual_account", id: randomUUID() },
      role: "user",
    });
    expect(grant.account).toBe("cut-acct");
  });
});
