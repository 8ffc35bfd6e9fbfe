import { Readable } from "node:stream";
import {
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
  trace,
} from "@opentelemetry/api";
import type { Dispatcher } from "undici";
import { describe, expect, it } from "vitest";
import { UpstreamAttempt } from "./tracing.js";

/** A recording span that counts its ends. */
function recordingSpan(name: string, options?: SpanOptions) {
  const span = {
    name,
    options,
    ends: 0,
    attributes: {} as Record<string, unknown>,
    spanContext: () => INVALID_SPAN_CONTEXT,
    isRecording: () => span.ends === 0,
    setAttribute(key: string, value: unknown) {
      span.attributes[key] = value;
      return span;
    },
    setStatus: () => span,
    end() {
      span.ends++;
    },
  };
  return span;
}

const started: ReturnType<typeof recordingSpan>[] = [];
const tracer = {
  startSpan(name: string, options?: SpanOptions) {
    const span = recordingSpan(name, options);
    started.push(span);
    return span as unknown as Span;
  },
} as unknown as Tracer;
trace.setGlobalTracerProvider({ getTracer: () => tracer } as TracerProvider);

const parent = trace.setSpan(ROOT_CONTEXT, recordingSpan("dispatch.invoke") as unknown as Span);
const origin = new URL("http://127.0.0.1:8080/v1");

function body(): Dispatcher.ResponseData["body"] {
  return new Readable({ read() {} }) as unknown as Dispatcher.ResponseData["body"];
}

const closed = (b: Dispatcher.ResponseData["body"]) =>
  new Promise<void>((resolve) => b.once("close", () => resolve()));

describe("UpstreamAttempt", () => {
  it("ends its span once when its body closes, read to the end or destroyed unread, each attempt its own", async () => {
    started.length = 0;
    const read = body();
    const dropped = body();
    const first = UpstreamAttempt.start(parent, "POST", origin, "/v1/chat/completions");
    const second = UpstreamAttempt.start(parent, "POST", origin, "/v1/chat/completions");
    first?.answered(200);
    second?.answered(200);
    first?.endWithBody(read);
    second?.endWithBody(dropped);
    expect(started.map((s) => s.ends)).toEqual([0, 0]);

    (read as unknown as Readable).push("{}");
    (read as unknown as Readable).push(null);
    (read as unknown as Readable).resume();
    await closed(read);
    expect(started.map((s) => s.ends)).toEqual([1, 0]);

    dropped.destroy();
    await closed(dropped);
    expect(started.map((s) => s.ends)).toEqual([1, 1]);
    expect(started[0]?.attributes["http.response.status_code"]).toBe(200);
  });

  it("starts its spans with the HTTP client attributes, made once per origin and path", () => {
    started.length = 0;
    UpstreamAttempt.start(parent, "POST", origin, "/v1/chat/completions?x=1");
    UpstreamAttempt.start(parent, "GET", origin, "/v1/chat/completions?x=1");
    const [post, get] = started;
    expect(post?.options?.attributes).toEqual({
      "http.request.method": "POST",
      "server.address": "127.0.0.1",
      "server.port": 8080,
      "url.scheme": "http",
      "url.path": "/v1/chat/completions",
    });
    expect(get?.options?.attributes?.["http.request.method"]).toBe("GET");
    expect(post?.options?.kind).toBe(2); // SpanKind.CLIENT
  });
});
