import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  EGRESS_REFUSED,
  EgressPolicy,
  egressConnector,
  parseEgressAllowlist,
  type Resolve,
} from "../src/index.js";

let server: Server;
let port: number;
let connections = 0;

beforeAll(async () => {
  server = createServer((_req, res) => res.end("reached"));
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const policy = (allow = "", allowLoopback = false) =>
  new EgressPolicy({ allow: parseEgressAllowlist(allow), allowLoopback });

async function get(url: string, p: EgressPolicy, resolve?: Resolve) {
  const agent = new Agent({ connect: egressConnector(p, { timeout: 2_000 }, resolve) });
  try {
    const res = await request(url, { dispatcher: agent });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await agent.close();
  }
}

async function refusal(promise: Promise<unknown>) {
  const err = (await promise.then(
    () => {
      throw new Error("expected the connection to be refused");
    },
    (e: unknown) => e,
  )) as { code?: string; rule?: string; message: string };
  return err;
}

describe("the egress connector judges the address it connects to", () => {
  it("refuses a loopback literal, in any spelling, without opening a connection", async () => {
    const before = connections;
    for (const host of ["127.0.0.1", "2130706433", "0x7f.1", "[::ffff:127.0.0.1]"]) {
      const err = await refusal(get(`http://${host}:${port}/`, policy()));
      expect(err.code).toBe(EGRESS_REFUSED);
      expect(err.rule).toBe("loopback");
    }
    expect(connections).toBe(before);
  });

  it("refuses `localhost`, a real name that resolves to 127.0.0.1, at connect time", async () => {
    const before = connections;
    const err = await refusal(get(`http://localhost:${port}/`, policy()));
    expect(err.code).toBe(EGRESS_REFUSED);
    expect(err.message).toContain("localhost");
    expect(connections).toBe(before);
  });

  it("lets the allowlist through: a range, a named host, local mode", async () => {
    expect(await get(`http://127.0.0.1:${port}/`, policy("127.0.0.1/32"))).toEqual({
      status: 200,
      body: "reached",
    });
    expect((await get(`http://localhost:${port}/`, policy("127.0.0.1/32"))).status).toBe(200);
    expect((await get(`http://localhost:${port}/`, policy("localhost"))).status).toBe(200);
    expect((await get(`http://localhost:${port}/`, policy("", true))).status).toBe(200);
  });

  it("judges every connection on what the name resolves to then (DNS rebinding)", async () => {
    // The name first resolves to an allowed address, then to a refused one: the second connection
    // is refused by the policy, not merely by a closed port.
    const answers = ["127.0.0.1", "127.0.0.2"];
    const rebinding: Resolve = (_host, _options, callback) => {
      const address = answers.shift() ?? "127.0.0.2";
      callback(null, [{ address, family: 4 }]);
    };
    const p = policy("127.0.0.1/32");
    const agent = new Agent({ connect: egressConnector(p, { timeout: 2_000 }, rebinding) });
    try {
      const first = await request(`http://rebind.example:${port}/`, { dispatcher: agent, reset: true });
      expect(await first.body.text()).toBe("reached");
      const before = connections;
      const err = await refusal(
        request(`http://rebind.example:${port}/`, { dispatcher: agent, reset: true }),
      );
      expect(err.code).toBe(EGRESS_REFUSED);
      expect(connections).toBe(before);
    } finally {
      await agent.close();
    }
  });

  it("connects only to the allowed addresses of a name that resolves to several", async () => {
    const mixed: Resolve = (_host, _options, callback) =>
      callback(null, [
        { address: "169.254.169.254", family: 4 },
        { address: "127.0.0.1", family: 4 },
      ]);
    expect((await get(`http://mixed.example:${port}/`, policy("127.0.0.1/32"), mixed)).status).toBe(200);
  });
});
