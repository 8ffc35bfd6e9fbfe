import { setTimeout as delay } from "node:timers/promises";
import { CATALOG_REQUEST_TIMEOUT_MS } from "@gatehouse/contracts";
import { startTcpProxy, type TcpProxy } from "@gatehouse/testkit";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RoutesWorld, startRoutesWorld } from "./routes-world.js";

/**
 * A routed call while dispatch cannot reach its database (its link to Postgres cut, the other
 * services unaffected): the caches answer while they are fresh and trusted, then calls fail within
 * dispatch's 5 s read bound with a retryable 503 (Retry-After: 1) in the caller's dialect — the
 * catalog lookups ingress asks of dispatch included, which wait on a reconnecting pool as long as
 * a plan read does — never a 504, a hang, nor a 500 that reads as a bug — and work again once the
 * database is back.
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

/** An outage as a caller should see it: 503 with Retry-After: 1, whichever read met it. */
function outage(
  status: number,
  retryAfter: string | null,
  error: unknown,
): { status: number; retryAfter: string | null; type: unknown } {
  return { status, retryAfter, type: (error as { type?: unknown }).type };
}
const OUTAGE = { status: 503, retryAfter: "1", type: "overloaded_error" };

/**
 * `tries` calls one after another: each answers (the caches' bound not yet reached) or fails as an
 * outage, within dispatch's 5 s read bound (ingress would give up with a 504 only after it).
 * Answers how many failed.
 */
async function outageCalls(tries: number): Promise<number> {
  let failed = 0;
  for (let i = 0; i < tries; i++) {
    const started = Date.now();
    const err = await chat().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(CATALOG_REQUEST_TIMEOUT_MS);
    if (err === undefined) continue; // still within the caches' bound (two TTLs)
    failed++;
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiError = err as InstanceType<typeof OpenAI.APIError>;
    expect(
      outage(apiError.status ?? 0, apiError.headers?.get("retry-after") ?? null, apiError.error),
    ).toEqual(OUTAGE);
  }
  return failed;
}

async function recovers(): Promise<void> {
  let answered = false;
  for (let i = 0; i < 40 && !answered; i++) {
    answered = await chat().then(
      () => true,
      () => false,
    );
    if (!answered) await delay(250);
  }
  expect(answered).toBe(true);
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
    // the TTL dispatch reads plan and account too.
    await delay(5_500);
    expect(await outageCalls(4)).toBeGreaterThan(0);
    // Anthropic's dialect: its own error envelope, the same statuses.
    const answer = await message();
    expect(answer.body).toMatchObject({ type: "error", error: { type: expect.any(String) } });
    expect(outage(answer.status, answer.retryAfter, (answer.body as { error: unknown }).error)).toEqual(
      OUTAGE,
    );

    proxy.restore();
    await recovers();
  }, 90_000);

  it("a database that hangs (connections held open, nothing answered): 503 past the read bound, never 504", async () => {
    expect((await chat()).choices[0]?.message.content).toBeTruthy();
    proxy.stall();
    // The route lookup ingress asks of dispatch waits on the pool as long as the plan read does:
    // dispatch answers it 503 at 5 s, before ingress gives up on it.
    await delay(5_500);
    expect(await outageCalls(3)).toBeGreaterThan(0);
    proxy.restore();
    await recovers();
  }, 90_000);
});
