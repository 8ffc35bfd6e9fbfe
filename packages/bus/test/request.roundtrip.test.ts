import { defineEndpoint, GatehouseError } from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix } from "@gatehouse/testkit";
import { context, propagation, TraceFlags, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import {
  BusClient,
  type BusConnection,
  connectBus,
  NO_REPLY,
  type RunningService,
  route,
  serve,
} from "../src/index.js";

const echo = defineEndpoint(
  "auth",
  "echo",
  z.object({ text: z.string().max(10) }),
  z.object({
    text: z.string(),
    instance: z.string(),
    traceparent: z.string().nullable(),
    headerBlock: z.boolean(),
  }),
);
const slow = defineEndpoint("auth", "slow", z.object({}), z.object({ ok: z.boolean() }));
const broken = defineEndpoint("auth", "broken", z.object({}), z.object({ ok: z.literal(true) }));
const refuses = defineEndpoint("auth", "refuses", z.object({}), z.object({ ok: z.boolean() }));
const outage = defineEndpoint("auth", "outage", z.object({}), z.object({ ok: z.boolean() }));
const bug = defineEndpoint("auth", "bug", z.object({}), z.object({ ok: z.boolean() }));

const { logger } = captureLogger("bus-test");
let bus: BusConnection;
let client: BusClient;
const prefix = testPrefix();
const services: RunningService[] = [];

async function startInstance(instance: string): Promise<RunningService> {
  const svc = await serve({
    nc: bus.nc,
    prefix,
    service: "auth",
    version: "0.0.1",
    description: "test",
    logger,
    routes: [
      route(echo, async (req, ctx) => ({
        text: req.text,
        instance,
        traceparent: ctx.headers?.get("traceparent") || null,
        headerBlock: ctx.headers !== undefined,
      })),
      route(slow, async () => {
        await new Promise((r) => setTimeout(r, 500));
        return { ok: true };
      }),
      route(broken, async () => ({ ok: false }) as unknown as { ok: true }),
      route(refuses, async () => {
        throw new GatehouseError("permission_denied", "not yours");
      }),
      route(outage, async () => {
        throw Object.assign(new Error("write CONNECTION_CLOSED"), { code: "CONNECTION_CLOSED" });
      }),
      route(bug, async () => {
        throw new TypeError("x is undefined");
      }),
    ],
    mapError: (err) =>
      (err as { code?: unknown }).code === "CONNECTION_CLOSED"
        ? new GatehouseError("service_unavailable", "database out", { retryAfterSeconds: 1 })
        : undefined,
  });
  services.push(svc);
  return svc;
}

beforeAll(async () => {
  // What the OpenTelemetry SDK registers when OTEL_EXPORTER_OTLP_ENDPOINT is set.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  bus = await connectBus({ url: await testNatsUrl(), name: "bus-test", logger });
  client = new BusClient(bus.nc, prefix, 2_000);
});

afterAll(async () => {
  for (const s of services) await s.stop();
  await bus.drain();
  propagation.disable();
  context.disable();
});

describe("request/reply over NATS", () => {
  it("answers with no responders as 503 at once", async () => {
    const started = Date.now();
    const err = await client.request(echo, { text: "hi" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatehouseError);
    expect((err as GatehouseError).code).toBe("service_unavailable");
    expect((err as GatehouseError).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("crosses NATS to a service and back, validated both ends", async () => {
    await startInstance("a");
    const res = await client.request(echo, { text: "hello" });
    expect(res).toMatchObject({ text: "hello", instance: "a" });
  });

  it("refuses a request that fails its schema with a validation error", async () => {
    const err = await client.request(echo, { text: "far too long for the schema" }).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("validation_failed");
    expect((err as GatehouseError).status).toBe(422);
  });

  it("carries catalog errors from the handler to the caller", async () => {
    const err = await client.request(refuses, {}).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("permission_denied");
    expect((err as GatehouseError).message).toBe("not yours");
  });

  it("answers what mapError makes of a handler's other errors, else internal_error", async () => {
    const err = await client.request(outage, {}).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "service_unavailable", retryAfterSeconds: 1 });
    expect(await client.request(bug, {}).catch((e: unknown) => e)).toMatchObject({ code: "internal_error" });
  });

  it("treats a reply that fails its schema as an internal error", async () => {
    const err = await client.request(broken, {}).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("internal_error");
  });

  it("maps a timeout to 504", async () => {
    const err = await client.request(slow, {}, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((err as GatehouseError).code).toBe("service_timeout");
    expect((err as GatehouseError).status).toBe(504);
  });

  it("shares the load between two instances in one queue group", async () => {
    await startInstance("b");
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 2; i++)
      seen.add((await client.request(echo, { text: "x" })).instance);
    expect([...seen].sort()).toEqual(["a", "b"]);
  });

  it("carries W3C trace context in NATS headers", async () => {
    const spanContext = {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: TraceFlags.SAMPLED,
    };
    const ctx = trace.setSpanContext(context.active(), spanContext);
    const res = await context.with(ctx, () => client.request(echo, { text: "t" }));
    expect(res.traceparent).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    expect(res.headerBlock).toBe(true);
  });

  it("sends no header block when there is no trace context to carry (tracing off, or nothing active)", async () => {
    // An empty header block is still one: HPUB instead of PUB, encoded here and parsed by the service.
    const res = await client.request(echo, { text: "t" });
    expect(res.traceparent).toBeNull();
    expect(res.headerBlock).toBe(false);
  });

  it("lists the service in $SRV.INFO with name and version", async () => {
    const info = await bus.nc.request(`$SRV.INFO.${prefix}-auth`, undefined, { timeout: 1_000 });
    const body = JSON.parse(new TextDecoder().decode(info.data)) as {
      name: string;
      version: string;
      endpoints: unknown[];
    };
    expect(body.name).toBe(`${prefix}-auth`);
    expect(body.version).toBe("0.0.1");
    expect(body.endpoints.length).toBe(6);
  });

  it("lets a handler answer by itself", () => {
    expect(typeof NO_REPLY).toBe("symbol");
  });
});
