import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BusClient } from "@gatehouse/bus";
import { authValidate } from "@gatehouse/contracts";
import { hashKey } from "@gatehouse/keys";
import { captureLogger, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { connect } from "nats";
import { describe, expect, it } from "vitest";
import { buildApp, loadConfig } from "../src/index.js";

describe("auth on embedded PGlite (the laptop shape, no DATABASE_URL)", () => {
  // PGlite (Postgres in WebAssembly) takes seconds to boot on a busy 2-core machine.
  it("migrates, bootstraps the admin and validates its key", { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-auth-"));
    const prefix = testPrefix();
    const natsUrl = await testNatsUrl();
    const printed: string[] = [];
    const app = buildApp(
      loadConfig({ NATS_URL: natsUrl, GATEHOUSE_PREFIX: prefix, GATEHOUSE_DATA_DIR: dir }),
      {
        logger: captureLogger("auth").logger,
        print: (line) => printed.push(line),
      },
    );
    const nc = await connect({ servers: natsUrl });
    try {
      await app.start();
      const key = /(gatehouse_pat_\S+)/.exec(printed[0] ?? "")?.[1] ?? "";
      const answer = await new BusClient(nc, prefix).request(authValidate, { keyHash: hashKey(key) });
      expect(answer).toMatchObject({ outcome: "valid", principal: { role: "admin" } });
    } finally {
      await nc.close();
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
