/**
 * Validation latency: `pnpm --filter @gatehouse/auth bench` (or `npx vitest bench --run --project auth`
 * from the repo root). Needs Postgres and NATS as the integration tests do. Prints p50/p99 per case.
 *
 * - cold: ingress's authenticator with no usable cache, so every call is parse + SHA-256 + one
 *   `auth.validate` round trip over NATS + one indexed Postgres read in auth.
 * - bus only: the bare `auth.validate` request (what the cold case spends most of its time on).
 * - warm: the same authenticator with a trusted feed and the answer cached: no I/O at all.
 */

import { authAdminPatsCreate, authValidate } from "@gatehouse/contracts";
import { hashKey } from "@gatehouse/keys";
import { afterAll, beforeAll, bench, describe } from "vitest";
// The bench measures ingress's authenticator against a real auth service; it is the only place
// the two meet outside NATS, and it is not shipped.
import { createAuthenticator } from "../../ingress/src/auth/authenticate.js";
import { loadConfig } from "../../ingress/src/config.js";
import type { IngressContext } from "../../ingress/src/context.js";
import { type AuthHarness, startAuth } from "../test/harness.js";

let h: AuthHarness;
let key = "";
const samples: Record<string, number[]> = { cold: [], bus: [], warm: [] };

function feed(trusted: boolean) {
  return { trusted: () => trusted, epoch: () => 1, onEvent: () => () => {}, onReset: () => () => {} };
}
function authenticator(trusted: boolean) {
  return createAuthenticator({
    feed: feed(trusted),
    client: h.client,
    config: loadConfig({}),
  } as unknown as Omit<IngressContext, "authenticate">);
}
type Hook = ReturnType<typeof createAuthenticator>;
type FastifyRequest = Parameters<Hook>[0];
type FastifyReply = Parameters<Hook>[1];

function request(): FastifyRequest {
  return {
    headers: { authorization: `Bearer ${key}` },
    routeOptions: { config: {} },
    ip: "127.0.0.1",
    caller: undefined,
  } as unknown as FastifyRequest;
}

let cold: ReturnType<typeof authenticator>;
let warm: ReturnType<typeof authenticator>;

beforeAll(async () => {
  h = await startAuth({ AUTH_LAST_USED_FLUSH_MS: "1000" });
  key = (await h.client.request(authAdminPatsCreate, { actor: h.admin, name: "bench" })).key;
  cold = authenticator(false);
  warm = authenticator(true);
  await warm.call(undefined as never, request(), {} as FastifyReply);
});

afterAll(async () => {
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
  };
  const lines = Object.entries(samples).map(
    ([name, xs]) =>
      `${name.padEnd(5)} n=${xs.length} p50=${pct(xs, 50).toFixed(3)} ms p99=${pct(xs, 99).toFixed(3)} ms`,
  );
  process.stdout.write(`\nvalidation latency (node ${process.version})\n${lines.join("\n")}\n`);
  await h?.stop();
});

async function timed(name: string, fn: () => Promise<unknown>) {
  const t = performance.now();
  await fn();
  samples[name]?.push(performance.now() - t);
}

describe("validation latency", () => {
  bench(
    "cold: authenticator → NATS → auth → Postgres",
    () => timed("cold", () => cold.call(undefined as never, request(), {} as FastifyReply)),
    { time: 4_000, warmupIterations: 50 },
  );
  bench(
    "bus only: auth.validate request",
    () => timed("bus", () => h.client.request(authValidate, { keyHash: hashKey(key) })),
    { time: 4_000, warmupIterations: 50 },
  );
  bench(
    "warm: authenticator cache hit",
    () => timed("warm", () => warm.call(undefined as never, request(), {} as FastifyReply)),
    { time: 2_000, warmupIterations: 100 },
  );
});
