import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";

/**
 * The separate-process shape: each bus service serves its own `/metrics` on METRICS_PORT (what the
 * compose stack's Prometheus scrapes), and ingress keeps its own on its HTTP port.
 */
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    env: { METRICS_PORT: "0" }, // any free port; ingress does not read it
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

describe("METRICS_PORT", () => {
  it("serves each bus service's own series on its own port, with the process's", async () => {
    for (const name of ["auth", "acl", "dispatch"] as const) {
      const url = stack.services[name].metricsUrl;
      expect(url, name).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const res = await fetch(url as string);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
      expect(text).toMatch(/^# TYPE gatehouse_nats_request_duration_seconds histogram$/m);
    }
    const dispatch = await (await fetch(stack.services.dispatch.metricsUrl as string)).text();
    expect(dispatch).toMatch(/^gatehouse_usage_batches_unstored \d+$/m);
    // Another process's series are not here: ingress's access feed is on ingress only.
    expect(dispatch).not.toContain("gatehouse_access_event_last_sequence");
    const ingress = await (await fetch(`${stack.url}/metrics`)).text();
    expect(ingress).toContain("gatehouse_access_feed_trusted 1");
    expect(ingress).not.toContain("gatehouse_usage_batches_unstored");
  });

  it("answers nothing but GET /metrics", async () => {
    const url = new URL(stack.services.acl.metricsUrl as string);
    expect((await fetch(new URL("/", url))).status).toBe(404);
    expect((await fetch(new URL("/metrics/../healthz", url))).status).toBe(404);
    expect((await fetch(url, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${url.href}?x=1`)).status).toBe(200);
  });
});
