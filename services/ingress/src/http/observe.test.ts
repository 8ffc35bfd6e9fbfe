import { captureLogger } from "@gatehouse/testkit";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { registerObservability } from "./observe.js";

/** The access line's trace id for a request carrying `traceparent`, with tracing off (no SDK in this file). */
async function traceIdFor(traceparent: string): Promise<unknown> {
  const capture = captureLogger("ingress", "info");
  const app = Fastify();
  registerObservability(app, capture.logger);
  app.get("/x", async () => "ok");
  await app.ready();
  await app.inject({ method: "GET", url: "/x", headers: { traceparent } });
  await app.close();
  const line = capture.lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request");
  return line?.traceId;
}

describe("the access line with tracing off", () => {
  it("names the caller's trace from a valid traceparent, and none from one the propagator refuses", async () => {
    const traceId = "0af7651916cd43dd8448eb211c80319c";
    expect(await traceIdFor(`00-${traceId}-b7ad6b7169203331-01`)).toBe(traceId);
    expect(await traceIdFor(`01-${traceId}-b7ad6b7169203331-01-future`)).toBe(traceId);
    expect(await traceIdFor(`ff-${traceId}-b7ad6b7169203331-01`)).toBeNull();
    expect(await traceIdFor(`00-${"0".repeat(32)}-b7ad6b7169203331-01`)).toBeNull();
    expect(await traceIdFor(`00-${traceId}-${"0".repeat(16)}-01`)).toBeNull();
    expect(await traceIdFor(`00-${traceId.toUpperCase()}-b7ad6b7169203331-01`)).toBeNull();
  });
});
