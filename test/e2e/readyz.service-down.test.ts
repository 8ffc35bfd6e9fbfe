import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function readyz(): Promise<{
  status: number;
  body: { status: string; services: Record<string, string> };
}> {
  const res = await fetch(`${stack.url}/readyz`);
  return {
    status: res.status,
    body: (await res.json()) as { status: string; services: Record<string, string> },
  };
}

describe("readiness", () => {
  it("/healthz answers while the process is up", async () => {
    const res = await fetch(`${stack.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("/readyz is ready when NATS and every backing service answer", async () => {
    const { status, body } = await readyz();
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: "ready", services: { auth: "ok", acl: "ok", dispatch: "ok" } });
  });

  it("reports a stopped auth service and recovers when it comes back, without restarting ingress", async () => {
    await stack.stopService("auth");
    const started = Date.now();
    const down = await readyz();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(down.status).toBe(503);
    expect(down.body.services).toMatchObject({ auth: "unavailable", acl: "ok", dispatch: "ok" });

    await stack.startService("auth");
    await waitFor(async () => (await readyz()).status === 200, 5_000);
  });

  it("answers unknown routes with a 404 in the OpenAI error shape", async () => {
    const res = await fetch(`${stack.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({
      error: {
        message: "no route for GET /v1/nothing-here",
        type: "not_found_error",
        param: null,
        code: "not_found",
      },
    });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });
});
