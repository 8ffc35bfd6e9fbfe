import { generateKey, hashKey } from "@gatehouse/keys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { must } from "./access-api.js";
import { startShippedNats } from "./bus-auth.js";

let nats: Awaited<ReturnType<typeof startShippedNats>>;
let stack: TestStack;
const adminKey = generateKey("pat");

beforeAll(async () => {
  // The server's own view: with tracing, every message that crosses it is logged with its payload.
  nats = await startShippedNats({ trace: true });
  stack = await startTestStack({
    natsUrl: nats.url,
    prefix: "gatehouse",
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey },
    serviceEnv: nats.serviceUsers(),
  });
});
afterAll(async () => {
  await stack?.stop();
  await nats?.stop();
});

describe("keys are made where they are shown: no key text ever crosses the bus", () => {
  it("creating a PAT, a VAT and regenerating the VAT through the HTTP API puts none of them on the bus", async () => {
    const pat = await must(
      stack,
      adminKey,
      "POST",
      "/api/v1/personal-access-tokens",
      { name: "laptop" },
      201,
    );
    const va = await must(stack, adminKey, "POST", "/api/v1/virtual-accounts", { name: "app" }, 201);
    const vat = await must(
      stack,
      adminKey,
      "POST",
      `/api/v1/virtual-accounts/${va.id}/tokens`,
      { name: "k" },
      201,
    );
    const regenerated = await must(
      stack,
      adminKey,
      "POST",
      `/api/v1/virtual-accounts/${va.id}/tokens/${vat.id}/regenerate`,
      { grace_period_seconds: 60 },
    );
    const keys: string[] = [pat.key, vat.key, regenerated.key];
    for (const key of keys) expect(key).toMatch(/^gatehouse_(pat|vat)_/);
    // Each key works, so its hash crossed the bus on the way to auth.validate.
    for (const key of keys) await must(stack, key, "GET", "/api/v1/me");

    const wire = nats.log();
    // The trace really shows payloads: each key's hash is there.
    for (const key of keys) expect(wire).toContain(hashKey(key));
    for (const key of keys) {
      expect(wire).not.toContain(key);
      // Not even the random part alone (the display hint keeps only 4 of its 32 characters).
      expect(wire).not.toContain(key.split("_")[2]);
    }
  });
});
