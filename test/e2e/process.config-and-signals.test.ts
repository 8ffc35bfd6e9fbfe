import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createTestDatabase, type TestDatabase, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnService } from "../src/processes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

function runToExit(
  service: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`services/${service}/dist/main.js`], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe("service processes", () => {
  it.each(["auth", "acl", "dispatch", "ingress"])(
    "%s refuses a bad variable, naming it and not its value",
    async (service) => {
      const { code, stderr } = await runToExit(service, {
        NATS_URL: "not a url secret-value",
        GATEHOUSE_PREFIX: "has.dots",
      });
      expect(code).toBe(2);
      expect(stderr).toContain("NATS_URL");
      expect(stderr).toContain("GATEHOUSE_PREFIX");
      expect(stderr).not.toContain("secret-value");
    },
  );

  it.each(["auth", "acl", "dispatch", "ingress"])(
    "%s refuses NATS credentials that do not go together, naming the variables and no secret",
    async (service) => {
      const { code, stderr } = await runToExit(service, {
        NATS_PASSWORD: "secret-password-value",
        NATS_TOKEN: "secret-token-value",
        NATS_TLS_CERT: "/nonexistent/client.pem",
        GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
      });
      expect(code).toBe(2);
      expect(stderr).toContain("NATS_USER: required when NATS_PASSWORD is set");
      expect(stderr).toContain("set one way to authenticate to NATS");
      expect(stderr).toContain("NATS_TLS_KEY: required when NATS_TLS_CERT is set");
      expect(stderr).not.toContain("secret-password-value");
      expect(stderr).not.toContain("secret-token-value");
    },
  );

  it("start as separate processes and stop cleanly on SIGTERM", async () => {
    const env = {
      NATS_URL: await testNatsUrl(),
      GATEHOUSE_PREFIX: testPrefix(),
      DATABASE_URL: database.url,
      PORT: "0",
      GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString("base64"),
    };
    const auth = await spawnService("auth", env);
    const acl = await spawnService("acl", env);
    const dispatch = await spawnService("dispatch", env);
    const ingress = await spawnService("ingress", env);
    try {
      const ready = await fetch(`${ingress.url}/readyz`);
      expect(ready.status).toBe(200);
      for (const p of [ingress, dispatch, acl, auth]) expect(await p.kill("SIGTERM")).toBe(0);
    } finally {
      for (const p of [ingress, dispatch, acl, auth]) await p.kill("SIGKILL");
    }
  });
});
