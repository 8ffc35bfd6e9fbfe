import { captureLogger, startInMemoryTracing } from "@gatehouse/testkit";
import { trace } from "@opentelemetry/api";
import Fastify from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { registerObservability } from "./observe.js";

const tracing = await startInMemoryTracing();
afterAll(() => tracing.shutdown());

const activeSpanId = () => trace.getActiveSpan()?.spanContext().spanId;

describe("ingress's server span", () => {
  it("is active in every hook and the handler of a route, callback-style hooks of four arguments included", async () => {
    const app = Fastify();
    registerObservability(app, captureLogger("ingress", "warn").logger);
    const seen: Record<string, string | undefined> = {};
    app.post(
      "/things/:id",
      {
        // preParsing's callback is its fourth argument (request, reply, payload, done).
        preParsing: (_request, _reply, payload, done) => {
          seen.preParsing = activeSpanId();
          done(null, payload);
        },
        preValidation: (_request, _reply, done) => {
          seen.preValidation = activeSpanId();
          done();
        },
        preHandler: async () => {
          seen.preHandler = activeSpanId();
        },
      },
      async () => {
        seen.handler = activeSpanId();
        return { ok: true };
      },
    );
    await app.ready();
    const response = await app.inject({
      method: "POST",
      url: "/things/7",
      payload: { a: 1 },
      headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    });
    await app.close();
    expect(response.statusCode).toBe(200);

    const server = tracing.spans().find((s) => s.name === "POST /things/:id");
    expect(server?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(server?.parentSpanContext).toEqual({ spanId: "b7ad6b7169203331", isRemote: true });
    expect(server?.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.route": "/things/:id",
      "http.response.status_code": 200,
    });
    const id = server?.spanContext().spanId;
    expect(seen).toEqual({ preParsing: id, preValidation: id, preHandler: id, handler: id });
  });

  it("refuses an async hook that takes done, as fastify does without tracing", async () => {
    const app = Fastify();
    registerObservability(app, captureLogger("ingress", "warn").logger);
    const hook = async (_request: unknown, _reply: unknown, _done: unknown) => {};
    const parsing = async (_request: unknown, _reply: unknown, _payload: unknown, _done: unknown) => {};
    expect(() => app.get("/a", { preHandler: [hook] }, async () => "ok")).toThrow(
      expect.objectContaining({ code: "FST_ERR_HOOK_INVALID_ASYNC_HANDLER" }),
    );
    expect(() => app.post("/b", { preParsing: [parsing] }, async () => "ok")).toThrow(
      expect.objectContaining({ code: "FST_ERR_HOOK_INVALID_ASYNC_HANDLER" }),
    );
    // Callback-style and async hooks of the right shape are taken.
    app.get("/c", { preHandler: [(_q, _r, done) => done(), async () => {}] }, async () => "ok");
    await app.ready();
    expect((await app.inject({ method: "GET", url: "/c" })).body).toBe("ok");
    await app.close();
  });

  it("has no http.route for a request that matched no route", async () => {
    const app = Fastify();
    registerObservability(app, captureLogger("ingress", "warn").logger);
    await app.ready();
    const response = await app.inject({ method: "GET", url: "/nowhere" });
    await app.close();
    expect(response.statusCode).toBe(404);
    const span = tracing.spans().find((s) => s.name === "GET");
    expect(span?.attributes["http.route"]).toBeUndefined();
    expect(span?.attributes["http.response.status_code"]).toBe(404);
  });
});
