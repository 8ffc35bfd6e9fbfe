import { setTimeout as delay } from "node:timers/promises";
import { startTcpProxy, type TcpProxy } from "@gatehouse/testkit";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RoutesWorld, startRoutesWorld } from "./routes-world.js";

/**
 * A routed call while dispatch cannot reach its database (its link to Postgres cut, the other
 * services unaffected): the caches answer while they are fresh and trusted, then calls fail within
 * the bus timeout with an error in the caller's dialect (a 500 internal_error, or a 504 when a query
 * waits on a reconnecting pool: an outage reads as a server error today, not as 503) — never a
 * hang — and work again once the database is back.
 */
let world: RoutesWorld;
let proxy: TcpProxy;

beforeAll(async () => {
  world = await startRoutesWorld();
  const url = new URL(world.stack.env.DATABASE_URL ?? "");
  proxy = await startTcpProxy(url.hostname, Number(url.port || 5432));
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  await world.stack.stopService("dispatch");
  await world.stack.startService("dispatch", { DATABASE_URL: url.toString() });
}, 60_000);
afterAll(async () => {
  proxy?.restore();
  await world?.stop();
  await proxy?.close();
});

const ask = { messages: [{ role: "user" as const, content: "hi" }] };
const chat = () => world.openai().chat.completions.create({ model: "steady", ...ask });

describe("dispatch's database down under a warm route", () => {
  it("serves from the cache within its bound, then fails fast in the caller's dialect, and recovers", async () => {
    await world.route({ name: "steady", kind: "chat", targets: [{ model: "up-a/gpt" }] });
    await world.grantRoute("steady");
    expect((await chat()).choices[0]?.message.content).toBeTruthy();

    proxy.cut();
    expect((await chat()).choices[0]?.message.content).toBeTruthy(); // fresh caches: no database
    // Once dispatch's access events stop (its outbox is in the cut database), ingress stops
    // trusting its caches within the lease and asks dispatch for the route on every call; past
    // the TTL dispatch reads plan and account too. Each call fails at once.
    await delay(5_500);
    let failed = 0;
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      const err = await chat().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
      if (err === undefined) continue; // still within the caches' bound (two TTLs)
      failed++;
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect([500, 503, 504]).toContain((err as InstanceType<typeof OpenAI.APIError>).status);
      expect((err as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: expect.any(String) });
    }
    expect(failed).toBeGreaterThan(0);

    proxy.restore();
    let answered = false;
    for (let i = 0; i < 40 && !answered; i++) {
      answered = await chat().then(
        () => true,
        () => false,
      );
      if (!answered) await delay(250);
    }
    expect(answered).toBe(true);
  }, 40_000);
});
