import { BusClient } from "@gatehouse/bus";
import { authValidate } from "@gatehouse/contracts";
import { hashKey, parseKey } from "@gatehouse/keys";
import {
  captureLogger,
  createTestDatabase,
  type TestDatabase,
  testNatsUrl,
  testPrefix,
} from "@gatehouse/testkit";
import { connect } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, loadConfig } from "../src/index.js";

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

describe("bootstrap on first start", () => {
  it("creates exactly one admin across replicas starting together, prints its key once, and never logs it", async () => {
    const prefix = testPrefix();
    const natsUrl = await testNatsUrl();
    const env = {
      NATS_URL: natsUrl,
      GATEHOUSE_PREFIX: prefix,
      DATABASE_URL: database.url,
      GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: "root@example.com",
      LOG_LEVEL: "debug",
    };
    const printed: string[] = [];
    const logs = captureLogger("auth");
    const replicas = [0, 1, 2].map(() =>
      buildApp(loadConfig(env), { logger: logs.logger, print: (line) => printed.push(line) }),
    );
    await Promise.all(replicas.map((r) => r.start()));
    const nc = await connect({ servers: natsUrl });
    try {
      expect(printed).toHaveLength(1);
      const key = /(gatehouse_pat_\S+)/.exec(printed[0] ?? "")?.[1] ?? "";
      expect(parseKey(key)).toEqual({ ok: true, kind: "pat" });
      expect(printed[0]).toContain("root@example.com");
      expect(logs.text()).not.toContain(key);

      const answer = await new BusClient(nc, prefix).request(authValidate, { keyHash: hashKey(key) });
      expect(answer).toMatchObject({ outcome: "valid", principal: { kind: "user", role: "admin" } });

      // A restart of a bootstrapped service creates and prints nothing.
      await Promise.all(replicas.map((r) => r.stop()));
      const again = buildApp(loadConfig(env), { logger: logs.logger, print: (line) => printed.push(line) });
      await again.start();
      await again.stop();
      expect(printed).toHaveLength(1);
    } finally {
      await nc.close();
      await Promise.allSettled(replicas.map((r) => r.stop()));
    }
  });

  it("refuses a GATEHOUSE_BOOTSTRAP_ADMIN_KEY that is not a valid PAT, naming the variable only", () => {
    const bad = "gatehouse_pat_0000000000000000000000000000000_000000";
    expect(() => loadConfig({ GATEHOUSE_BOOTSTRAP_ADMIN_KEY: bad })).toThrow(/GATEHOUSE_BOOTSTRAP_ADMIN_KEY/);
    try {
      loadConfig({ GATEHOUSE_BOOTSTRAP_ADMIN_KEY: bad });
    } catch (err) {
      expect(String(err)).not.toContain(bad);
    }
  });
});
