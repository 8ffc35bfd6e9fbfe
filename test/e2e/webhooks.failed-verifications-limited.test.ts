import { createHmac, randomBytes } from "node:crypto";
import { generateKey } from "@gatehouse/keys";
import { testNatsUrl } from "@gatehouse/testkit";
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { must } from "./access-api.js";

/**
 * `POST /webhooks/revocations` needs no key: its signature is the credential, and only auth can
 * check it. Failed verifications are limited per client address like failed keys, so a flood of
 * forged webhooks stops reaching auth after a burst.
 */
let stack: TestStack;
let nc: NatsConnection;
const adminKey = generateKey("pat");
let secret: string;
let forwarded = 0;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      AUTH_WEBHOOK_KEY: randomBytes(32).toString("base64"),
      FAILED_AUTH_BURST: "5",
      // One failure regained per 10 minutes: what is refused does not depend on this machine's speed.
      FAILED_AUTH_REFILL_PER_MINUTE: "0.1",
      TRUST_PROXY: "loopback",
    },
  });
  nc = await connect({ servers: await testNatsUrl() });
  nc.subscribe(`${stack.prefix}.v1.auth.webhooks.revocations`, {
    callback: () => {
      forwarded++;
    },
  });
  await nc.flush();
  secret = (await must(stack, adminKey, "POST", "/api/v1/webhooks/secrets", { name: "idp" }, 201)).secret;
});
afterAll(async () => {
  await nc?.close();
  await stack?.stop();
});

function sign(key: string, id: string, ts: string, body: string): string {
  const mac = createHmac("sha256", Buffer.from(key.slice("whsec_".length), "base64"))
    .update(`${id}.${ts}.${body}`)
    .digest("base64");
  return `v1,${mac}`;
}

let n = 0;
async function send(from: string, signWith: string) {
  const id = `msg_${Date.now()}_${n++}`;
  const body = JSON.stringify({ type: "user.deactivate", data: { email: "nobody@example.com" } });
  const ts = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${stack.url}/webhooks/revocations`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-forwarded-for": from,
      "webhook-id": id,
      "webhook-timestamp": ts,
      "webhook-signature": sign(signWith, id, ts, body),
    },
    body,
  });
  // biome-ignore lint/suspicious/noExplicitAny: error bodies are asserted field by field.
  const answer: any = await res.json();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: answer };
}

describe("failed webhook verifications per client address", () => {
  it("are answered 429 after the burst, without reaching auth; other addresses go on", async () => {
    const forged = `whsec_${randomBytes(32).toString("base64")}`;
    await nc.flush();
    const before = forwarded;
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await send("203.0.113.20", forged)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5).every((s) => s === 429)).toBe(true);
    const refused = await send("203.0.113.20", forged);
    expect(refused).toMatchObject({
      status: 429,
      body: { error: { code: "too_many_failed_authentications", type: "rate_limit_error" } },
    });
    expect(Number(refused.retryAfter)).toBeGreaterThan(500);
    await nc.flush();
    expect(forwarded - before).toBe(5);

    // A correctly signed webhook from another address is applied as before.
    expect(await send("198.51.100.20", secret)).toMatchObject({ status: 200, body: { matched: false } });
  });

  it("are not drawn on by verified webhooks", async () => {
    for (let i = 0; i < 10; i++) expect((await send("198.51.100.30", secret)).status).toBe(200);
  });
});
