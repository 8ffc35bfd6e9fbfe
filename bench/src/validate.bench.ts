/**
 * Validation latency: `pnpm bench:validate` (= `npx vitest bench --run --project bench validate` from
 * the repo root). Needs Postgres and NATS as the integration tests do. Prints p50/p99 per case.
 *
 * - cold: ingress's authenticator with no usable cache, so every call is parse + SHA-256 + one
 *   `auth.validate` round trip over NATS + one indexed Postgres read in auth.
 * - bus only: the bare `auth.validate` request (what the cold case spends most of its time on).
 * - warm: the same authenticator with a trusted feed and the answer cached: no I/O at all.
 */

import { buildApp as buildAuth, loadConfig as loadAuthConfig, testIdentities } from "@gatehouse/auth";
import { BusClient } from "@gatehouse/bus";
import { type Actor, authAdminPatsCreate, authValidate } from "@gatehouse/contracts";
// The bench measures ingress's authenticator against a real auth service: the one place the two
// meet outside NATS, through each service's package entry, and not shipped.
import { createAuthenticator, type IngressContext, loadConfig } from "@gatehouse/ingress";
import { generateKey, hashKey, mintKey } from "@gatehouse/keys";
import { createLogger } from "@gatehouse/kit";
import { createTestDatabase, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { connect } from "nats";
import { afterAll, beforeAll, bench, describe } from "vitest";

interface AuthUnderTest {
  client: BusClient;
  admin: Actor;
  stop(): Promise<void>;
}

/** The auth service on its own database and subject prefix, bootstrapped with a known admin key. */
async function startAuth(): Promise<AuthUnderTest> {
  const database = await createTestDatabase();
  const prefix = testPrefix();
  const natsUrl = await testNatsUrl();
  const adminKey = generateKey("pat");
  const service = buildAuth(
    loadAuthConfig({
      NATS_URL: natsUrl,
      GATEHOUSE_PREFIX: prefix,
      DATABASE_URL: database.url,
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      AUTH_LAST_USED_FLUSH_MS: "1000",
    }),
    { logger: createLogger({ level: "warn", service: "auth" }), print: () => {} },
  );
  await service.start();
  const nc = await connect({ servers: natsUrl });
  const client = new BusClient(nc, prefix);
  const { admin } = await testIdentities(client, adminKey);
  return {
    client,
    admin,
    async stop() {
      await nc.close();
      await service.stop();
      await database.drop();
    },
  };
}

let h: AuthUnderTest;
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
  h = await startAuth();
  const { key: minted, ...form } = mintKey("pat");
  await h.client.request(authAdminPatsCreate, { actor: h.admin, name: "bench", ...form });
  key = minted;
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
