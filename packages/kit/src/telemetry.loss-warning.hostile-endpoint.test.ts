import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { trace } from "@opentelemetry/api";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, type Logger } from "./logger.js";
import { startTelemetry } from "./telemetry.js";

// What reaches the "trace spans lost" warning when the OTLP endpoint (anything listening at
// OTEL_EXPORTER_OTLP_ENDPOINT) answers with hostile bytes.

const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const ResponseType = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
const encode = (message: object): Buffer =>
  Buffer.from(ResponseType.encode(ResponseType.fromObject(message)).finish());

interface Reply {
  status?: number;
  type?: string;
  body: Buffer;
  /** What `Date.now()` says from this reply on (the loss warning's rate limit reads it). */
  now?: number;
  /** A body that never ends instead of `body`. */
  endless?: "trickle" | "flood";
}

let replies: Reply[] = [];
let requests = 0;
let clock = 1_000_000;
const collector = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const reply = replies[requests++ % replies.length] as Reply;
    if (reply.now !== undefined) clock = reply.now;
    if (reply.endless !== undefined) {
      // A 200 whose body never ends: a byte now and then (under any idle timeout), or a flood.
      res.writeHead(200, { "content-type": "application/x-protobuf" });
      const chunk = Buffer.alloc(reply.endless === "trickle" ? 1 : 64 * 1024);
      const timer = setInterval(() => res.write(chunk), reply.endless === "trickle" ? 200 : 1);
      res.on("close", () => clearInterval(timer));
      return;
    }
    res
      .writeHead(reply.status ?? 200, { "content-type": reply.type ?? "application/x-protobuf" })
      .end(reply.body);
  });
});
await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
afterAll(() => {
  collector.closeAllConnections();
  return new Promise<void>((resolve) => collector.close(() => resolve()));
});
afterEach(() => {
  trace.disable();
  vi.restoreAllMocks();
});

/** Ends `spans` spans through a fresh telemetry whose endpoint gives `answers`, and shuts it down. */
async function exportThrough(
  answers: Reply[],
  spans: number,
  options: { perExport?: number; logger?: Logger } = {},
): Promise<{ warn: ReturnType<typeof vi.fn> }> {
  replies = answers;
  requests = 0;
  const warn = vi.fn();
  const telemetry = await startTelemetry({
    serviceName: "gatehouse-test",
    otlpEndpoint: endpoint,
    logger: options.logger ?? ({ warn } as unknown as Logger),
    env: options.perExport ? { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: String(options.perExport) } : {},
  });
  const tracer = trace.getTracer("gatehouse-test");
  for (let i = 0; i < spans; i++) tracer.startSpan(`span ${i}`).end();
  await telemetry.shutdown();
  return { warn };
}

describe("the loss warning, an endpoint's refused-span count", () => {
  it("never says more spans were refused than the export held, however large the count (2^62)", async () => {
    const { warn } = await exportThrough(
      [{ body: encode({ partialSuccess: { rejectedSpans: 2 ** 62 } }) }],
      3,
    );
    expect(requests).toBe(1);
    expect(warn.mock.calls.map((c) => c[0])).toEqual([
      { droppedQueueFull: 0, exportFailed: 0, rejectedByEndpoint: 3, rejection: null },
    ]);
  });

  it("counts a negative count (an int64 of 10 bytes) as none refused, and still reports the endpoint's message", async () => {
    const { warn } = await exportThrough(
      [{ body: encode({ partialSuccess: { rejectedSpans: -5, errorMessage: "negative" } }) }],
      2,
    );
    expect(warn.mock.calls.map((c) => c[0])).toEqual([
      { droppedQueueFull: 0, exportFailed: 0, rejectedByEndpoint: 0, rejection: "negative" },
    ]);
    const silent = await exportThrough([{ body: encode({ partialSuccess: { rejectedSpans: -1 } }) }], 1);
    expect(silent.warn).not.toHaveBeenCalled();
  });
});

describe("the loss warning, an endpoint's message", () => {
  it("reaches the log as one line of printable text: no newline, escape, C1 control, line separator or bidi override", async () => {
    const hostile =
      'spans refused\n{"level":30,"msg":"forged"}\r\x1b[31mred\x1b[0m \x9b2J \u2028\u2029 \u202egnp.exe\u202c \x00\x07\x7f\t.';
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    const logger = createLogger({ level: "info", service: "gatehouse-test", destination } as Parameters<
      typeof createLogger
    >[0]);
    await exportThrough(
      [{ body: encode({ partialSuccess: { rejectedSpans: 1, errorMessage: hostile } }) }],
      1,
      {
        logger,
      },
    );
    const written = lines.join("");
    expect(written.split("\n").filter((l) => l !== "")).toHaveLength(1);
    // The characters a terminal or a log reader acts on: C0 and C1 controls, DEL, U+2028/9, bidi.
    expect(written.slice(0, -1)).not.toMatch(/[\p{Cc}\p{Zl}\p{Zp}\p{Bidi_Control}]/u);
    const line = JSON.parse(written) as { rejection: string; rejectedByEndpoint: number };
    expect(line.rejectedByEndpoint).toBe(1);
    expect(line.rejection).toContain("spans refused");
    expect(line.rejection).toContain("red");
    expect(line.rejection).not.toMatch(/\p{Cc}/u);
  });

  it("keeps at most 256 characters of a message of most of a megabyte, without cutting a character in two", async () => {
    const message = `a${"\u{1F600}".repeat(200_000)}`; // 800 KB: under the 1 MiB an answer may take
    const { warn } = await exportThrough(
      [{ body: encode({ partialSuccess: { rejectedSpans: 1, errorMessage: message } }) }],
      1,
    );
    expect(warn).toHaveBeenCalledTimes(1);
    const rejection = (warn.mock.calls[0]?.[0] as { rejection: string } | undefined)?.rejection ?? "";
    expect(rejection.length).toBeLessThanOrEqual(256);
    expect(rejection.length).toBeGreaterThan(250);
    expect(rejection).not.toMatch(/\p{Cs}/u); // a lone surrogate: half a character
    expect(rejection.startsWith("a\u{1F600}")).toBe(true);
  });
});

describe("the loss warning, an endpoint echoing the exporter's credentials", () => {
  it("never logs the value of an OTEL_EXPORTER_OTLP_(TRACES_)HEADERS header, not even its start at the cut", async () => {
    const key = "sk-live-0123456789abcdef";
    const tenant = "tenant/42 with spaces";
    vi.stubEnv("OTEL_EXPORTER_OTLP_HEADERS", `x-api-key=${key}`);
    vi.stubEnv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", `x-tenant=${encodeURIComponent(tenant)}`);
    try {
      const echoed = `quota exceeded for key ${key} (${tenant}); ${"x".repeat(200)}${key}`;
      const { warn } = await exportThrough(
        [{ body: encode({ partialSuccess: { rejectedSpans: 1, errorMessage: echoed } }) }],
        1,
      );
      const rejection = (warn.mock.calls[0]?.[0] as { rejection: string } | undefined)?.rejection ?? "";
      expect(rejection.startsWith("quota exceeded for key [redacted] ([redacted]); xxx")).toBe(true);
      expect(rejection).not.toContain("sk-live");
      expect(rejection).not.toContain("tenant/42");
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("the loss warning, a success answered with garbage", () => {
  it("counts the export as sent and goes on with the next: garbage, JSON, HTML, an empty body, a lying length", async () => {
    const unhandled = vi.fn();
    process.on("unhandledRejection", unhandled);
    try {
      const { warn } = await exportThrough(
        [
          { body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) },
          { body: Buffer.from('{"partialSuccess":{"rejectedSpans":3}}'), type: "application/json" },
          { body: Buffer.from("<html>ok</html>"), type: "text/html", status: 202 },
          { body: Buffer.alloc(0) },
          { body: Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x08, 0x01]) },
          { body: Buffer.alloc(100_000).fill(0x1b) },
        ],
        6,
        { perExport: 1 },
      );
      expect(requests).toBe(6); // one export a span, each after the one before: none stalled
      expect(warn).not.toHaveBeenCalled(); // nothing lost, nothing refused
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off("unhandledRejection", unhandled);
    }
  });
});

describe("an endpoint whose answer never ends", () => {
  for (const endless of ["trickle", "flood"] as const) {
    it(`fails the export after OTEL_EXPORTER_OTLP_TIMEOUT and goes on (${endless}): the queue and shutdown are not held`, async () => {
      vi.stubEnv("OTEL_EXPORTER_OTLP_TIMEOUT", "1500");
      try {
        const { warn } = await exportThrough(
          [{ body: Buffer.alloc(0), endless }, { body: Buffer.alloc(0) }],
          2,
          {
            perExport: 1,
          },
        );
        expect(requests).toBe(2);
        expect(warn.mock.calls.map((c) => c[0])).toEqual([{ droppedQueueFull: 0, exportFailed: 1 }]);
      } finally {
        vi.unstubAllEnvs();
      }
    }, 30_000);
  }
});

describe("an endpoint whose answer is too large", () => {
  it("fails the export once the answer passes 1 MiB, well-formed or not, and goes on", async () => {
    const huge = encode({ partialSuccess: { rejectedSpans: 1, errorMessage: "x".repeat(2 * 1024 * 1024) } });
    const { warn } = await exportThrough([{ body: huge }, { body: Buffer.alloc(0) }], 2, { perExport: 1 });
    expect(requests).toBe(2);
    expect(warn.mock.calls.map((c) => c[0])).toEqual([{ droppedQueueFull: 0, exportFailed: 1 }]);
  });
});

describe("the loss warning, its rate limit with refusals", () => {
  it("warns at most once a minute; the refusals in between go into the next warning, with the last message", async () => {
    vi.spyOn(Date, "now").mockImplementation(() => clock);
    const refuse = (message: string, now: number): Reply => ({
      body: encode({ partialSuccess: { rejectedSpans: 1, errorMessage: message } }),
      now,
    });
    const { warn } = await exportThrough(
      [
        refuse("first", 10_000_000),
        refuse("second", 10_001_000),
        refuse("third", 10_059_000),
        refuse("fourth", 10_060_000),
        refuse("fifth", 10_061_000),
      ],
      5,
      { perExport: 1 },
    );
    expect(warn.mock.calls.map((c) => c[0])).toEqual([
      { droppedQueueFull: 0, exportFailed: 0, rejectedByEndpoint: 1, rejection: "first" },
      { droppedQueueFull: 0, exportFailed: 0, rejectedByEndpoint: 3, rejection: "fourth" },
    ]);
  });
});
