import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NO_NATS_SECURITY } from "@gatehouse/bus";
import { generateKey } from "@gatehouse/keys";
import { createLogger } from "@gatehouse/kit";
import { type Stack, startStack } from "@gatehouse/launcher";
import { testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `pnpm start` without DATABASE_URL: the four services share one embedded PGlite, one connection.
 * A create has acl clear the name before the row is visible; dispatch must not hold that one
 * connection in its transaction while acl (and auth, proving the actor) wait for it.
 */
let stack: Stack;
let dataDir: string;
const adminKey = generateKey("pat");

const post = (path: string, body: unknown) =>
  fetch(`${stack.ingress.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "gatehouse-pglite-"));
  stack = await startStack({
    env: {
      GATEHOUSE_PREFIX: testPrefix(),
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey,
      PORT: "0",
      LOG_LEVEL: "warn",
    },
    natsUrl: await testNatsUrl(),
    natsSecurity: NO_NATS_SECURITY,
    logger: createLogger({ level: "warn", service: "launcher" }),
  });
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the one-process stack on PGlite", () => {
  it("creates an account and a route, each clearing its name at acl, and refuses a second of a name", async () => {
    const account = { name: "mock-main", type: "mock", models: [{ name: "echo", kind: "chat" }] };
    expect((await post("/api/v1/provider-accounts", account)).status).toBe(201);
    expect((await post("/api/v1/provider-accounts", account)).status).toBe(409);
    const route = { name: "smart", kind: "chat", targets: [{ model: "mock-main/echo" }] };
    expect((await post("/api/v1/routes", route)).status).toBe(201);
    expect((await post("/api/v1/routes", route)).status).toBe(409);
  }, 60_000);
});
