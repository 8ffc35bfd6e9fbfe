import { setTimeout as delay } from "node:timers/promises";
import { startTcpProxy, type TcpProxy } from "@gatehouse/testkit";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RoutesWorld, startRoutesWorld } from "./routes-world.js";

/**
 * A routed call while dispatch cannot reach its database (its link to Postgres cut, the other
 * services unaffected): the caches answer while they are fresh and trusted, then calls fail within
 * the bus timeout with a retryable 503 (Retry-After: 1) in the caller's dialect — or a 504 when a
 * lookup waits on a reconnecting pool past ingress's bus timeout — never a hang, nor a 500 that
 * reads as a bug — and work again once the database is back.
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
/** The same call in Anthropic's dialect, raw: its status, Retry-After and body as sent. */
async function message(): Promise<{ status: number; retryAfter: string | null; body: unknown }> {
  const res = await fetch(`${world.stack.url}/v1/messages`, {
    method: "POST",
    headers: {
      "x-api-key": world.vat,
      "anthropic-version": "2023-06-01",
      "content-type": "application/json",
    },
    body: JSON.stringify({ model: "steady", max_tokens: 16, ...ask }),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: await res.json() };
}

/** An outage as a caller should see it: 503 with Retry-After, or 504 (a lookup that timed out). */
function outage(status: number, retryAfter: string | null, error: unknown): boolean {
  if (status === 503) return retryAfter === "1" && (error as { type?: unknown }).type === "overloaded_error";
  return status === 504 && (error as { type?: unknown }).type === "timeout_error";
}

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
      const apiError = err as InstanceType<typeof OpenAI.APIError>;
      expect(outage(apiError.status ?? 0, apiError.headers?.get("retry-after") ?? null, apiError.error)).toBe(
        true,
      );
    }
    expect(failed).toBeGreaterThan(0);
    // Anthropic's dialect: its own error envelope, the same statuses.
    const answer = await message();
    expect(answer.body).toMatchObject({ type: "error", error: { type: expect.any(String) } });
    expect(outage(answer.status, answer.retryAfter, (answer.body as { error: unknown }).error)).toBe(true);

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
