import Anthropic from "@anthropic-ai/sdk";
import { generateKey, hashKey } from "@gatehouse/keys";
import { testNatsUrl, waitFor } from "@gatehouse/testkit";
import { connect, type NatsConnection } from "nats";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, grant, must, newVirtualAccount } from "./access-api.js";

/**
 * The key checksum is public, so anyone can mint well-formed keys, and each used to cost an
 * `auth.validate` and a Postgres read, without limit. Failed authentications are now limited per
 * client address (a burst of 50), and unknown keys are cached apart from valid ones.
 */
let stack: TestStack;
let nc: NatsConnection;
const adminKey = generateKey("pat");
let realKey: string;
let vaId: string;

async function newVirtualAccountKey(): Promise<string> {
  const token = await must(
    stack,
    adminKey,
    "POST",
    `/api/v1/virtual-accounts/${vaId}/tokens`,
    { name: "t" },
    201,
  );
  return token.key;
}
/** `auth.validate` requests seen on the bus, by key hash. */
const validations = new Map<string, number>();

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      // Small caches, so that the flood below is many times what they hold.
      KEY_CACHE_MAX_KEYS: "50",
      KEY_CACHE_MAX_UNKNOWN: "50",
      // A long lease: a busy machine must not make the warm key look cold for a reason of its own.
      ACCESS_LEASE_MS: "20000",
      // The test plays several client addresses through X-Forwarded-For from a trusted local proxy.
      TRUST_PROXY: "loopback",
      // One failure regained per 10 minutes: what is refused does not depend on this machine's speed.
      FAILED_AUTH_REFILL_PER_MINUTE: "0.1",
    },
  });
  nc = await connect({ servers: await testNatsUrl() });
  // A plain subscription sees every request the auth queue group answers (and answers none).
  nc.subscribe(`${stack.prefix}.v1.auth.validate`, {
    callback: (_err, msg) => {
      const { keyHash } = msg.json<{ keyHash: string }>();
      validations.set(keyHash, (validations.get(keyHash) ?? 0) + 1);
    },
  });
  await nc.flush();
  await createAccount(stack, adminKey, "mock-main", ["echo"]);
  const app = await newVirtualAccount(stack, adminKey, "flooded-app");
  await grant(stack, adminKey, "mock-main", { kind: "virtual_account", id: app.va.id });
  realKey = app.key;
  vaId = app.va.id;
});
afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

const FLOODER = "203.0.113.5";
const chat = (key: string, from: string) =>
  new OpenAI({
    apiKey: key,
    baseURL: `${stack.url}/v1`,
    maxRetries: 0,
    defaultHeaders: { "x-forwarded-for": from },
  }).chat.completions.create({ model: "mock-main/echo", messages: [{ role: "user", content: "hi" }] });

async function attempt(key: string, from: string) {
  const res = await fetch(`${stack.url}/v1/models`, {
    headers: { authorization: `Bearer ${key}`, "x-forwarded-for": from },
  });
  // biome-ignore lint/suspicious/noExplicitAny: error bodies are asserted field by field.
  const body: any = await res.json();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body };
}

/**
 * All `auth.validate` requests seen so far, except those for `except` (a real key may be asked about
 * again when a busy machine lets the lease lapse; that is not what these counts are about).
 */
async function validationsSettled(except?: string): Promise<number> {
  await nc.flush();
  const skip = except === undefined ? undefined : hashKey(except);
  let total = 0;
  for (const [hash, n] of validations) if (hash !== skip) total += n;
  return total;
}

describe("a flood of made-up keys from one address", () => {
  it("gets 429 after a burst of 50 failures while a real key from that address keeps working", async () => {
    expect((await chat(realKey, FLOODER)).choices[0]?.message.content).toBe("mock: hi");
    // The premise: this replica has seen the real key valid. An answer from auth is not kept when an
    // access event (the set-up's own, late on a busy machine) lands while it is on its way, so call
    // until one call is answered from the cache, without asking auth.
    await waitFor(async () => {
      await nc.flush();
      const asked = validations.get(hashKey(realKey)) ?? 0;
      await chat(realKey, FLOODER);
      await nc.flush();
      return (validations.get(hashKey(realKey)) ?? 0) === asked;
    }, 20_000);
    const before = await validationsSettled(realKey);

    const statuses: number[] = [];
    for (let i = 0; i < 120; i++) {
      const res = await attempt(generateKey("vat"), FLOODER);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.body.error).toMatchObject({
          type: "rate_limit_error",
          code: "too_many_failed_authentications",
        });
        expect(Number(res.retryAfter)).toBeGreaterThan(500);
      }
      // The real key, from the same address, interleaved with the flood: never refused.
      if (i % 30 === 0) expect((await chat(realKey, FLOODER)).choices[0]?.message.content).toBe("mock: hi");
    }
    expect(statuses).toEqual([...Array(50).fill(401), ...Array(70).fill(429)]);
    // Only the failures that were let through cost an auth request.
    expect((await validationsSettled(realKey)) - before).toBe(statuses.filter((s) => s === 401).length);
    // Another address is not held back by this one's failures.
    expect((await attempt(generateKey("vat"), "203.0.113.6")).status).toBe(401);
  });

  it("does not push a warm real key out of the cache, however many unknown keys reach auth", async () => {
    const key = await newVirtualAccountKey();
    expect((await chat(key, "198.51.100.1")).choices[0]?.message.content).toBe("mock: hi");
    // 200 unknown keys, four times what the unknown-key cache holds (and four times the valid-key
    // cache's bound), from four addresses, each within its burst, so every one is asked about.
    for (let i = 0; i < 200; i++) {
      expect((await attempt(generateKey("vat"), `198.51.100.${10 + (i % 4)}`)).status).toBe(401);
    }
    expect((await chat(key, "198.51.100.1")).choices[0]?.message.content).toBe("mock: hi");
    await validationsSettled();
    expect(validations.get(hashKey(key))).toBe(1);
  });

  it("answers the Anthropic dialect with its own 429 error shape", async () => {
    for (let i = 0; i < 50; i++) await attempt(generateKey("vat"), "203.0.113.77");
    const client = new Anthropic({
      apiKey: generateKey("vat"),
      baseURL: stack.url,
      maxRetries: 0,
      defaultHeaders: { "x-forwarded-for": "203.0.113.77" },
    });
    const err = await client.messages
      .create({ model: "mock-main/echo", max_tokens: 8, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
      type: "error",
      error: { type: "rate_limit_error" },
    });
  });
});
