import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { describe, expect, it } from "vitest";
import { decodeExportTraceResponse } from "./telemetry.js";

// The OTLP reply comes from whatever listens at OTEL_EXPORTER_OTLP_ENDPOINT: untrusted bytes. These
// cases pin what the decoder does with them against the protobuf encoding spec
// (https://protobuf.dev/programming-guides/encoding/) and the official reader (protobufjs with the
// generated OTLP definitions, as @opentelemetry/otlp-transformer decodes it).

const require = createRequire(import.meta.url);
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const ResponseType = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
const encode = (message: object): Uint8Array =>
  ResponseType.encode(ResponseType.fromObject(message)).finish();

type Read = { rejectedSpans?: number; errorMessage?: string } | undefined | "throws";

function transformerReads(data: Uint8Array): Read {
  let decoded: { partialSuccess?: { rejectedSpans?: unknown; errorMessage?: string } | null };
  try {
    decoded = ProtobufTraceSerializer.deserializeResponse(data) as typeof decoded;
  } catch {
    return "throws";
  }
  const partial = decoded.partialSuccess;
  if (partial == null) return undefined;
  const out: { rejectedSpans?: number; errorMessage?: string } = {};
  const rejected = partial.rejectedSpans as number | { toNumber(): number } | null | undefined;
  const count = typeof rejected === "object" && rejected !== null ? rejected.toNumber() : rejected;
  if (count) out.rejectedSpans = count;
  if (partial.errorMessage) out.errorMessage = partial.errorMessage;
  return out;
}

function oursReads(data: Uint8Array): Read {
  let partial: ReturnType<typeof decodeExportTraceResponse>["partialSuccess"];
  try {
    partial = decodeExportTraceResponse(data).partialSuccess;
  } catch (error) {
    // Malformed input is refused with an Error of ours, never a RangeError from a blown stack.
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/OTLP response/);
    return "throws";
  }
  if (partial === undefined) return undefined;
  const out: { rejectedSpans?: number; errorMessage?: string } = {};
  if (partial.rejectedSpans) out.rejectedSpans = partial.rejectedSpans;
  if (partial.errorMessage) out.errorMessage = partial.errorMessage;
  return out;
}

const bytes = (...parts: (number | number[] | Uint8Array)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "number" ? [p] : [...p])));
/** A partial_success (field 1) around `inner`. */
const partial = (...inner: (number | number[] | Uint8Array)[]): Uint8Array => {
  const body = bytes(...inner);
  return bytes(0x0a, body.length, body);
};

describe("decodeExportTraceResponse, hostile varints", () => {
  it("reads rejected_spans as the int64 it is: a negative count or 2^63 as the official reader does, not as 2^64-ish", () => {
    const minusOne = encode({ partialSuccess: { rejectedSpans: -1 } });
    expect(oursReads(minusOne)).toEqual({ rejectedSpans: -1 });
    expect(oursReads(minusOne)).toEqual(transformerReads(minusOne));
    const cases = [
      partial(0x08, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), // 2^63
      partial(0x08, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), // 2^63 - 1
      partial(0x08, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), // 10th byte past 64 bits
      partial(0x08, [0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), // 5, overlong
      partial(0x08, [0x80, 0x80, 0x80, 0x80, 0x10]), // 2^32
      encode({ partialSuccess: { rejectedSpans: -(2 ** 40) } }),
    ];
    for (const data of cases) {
      const ours = oursReads(data);
      expect(ours).not.toBe("throws");
      const theirs = transformerReads(data) as { rejectedSpans?: number };
      expect((ours as { rejectedSpans?: number }).rejectedSpans).toBeCloseTo(theirs.rejectedSpans ?? 0, -3);
    }
  });

  it("refuses a varint of more than 10 bytes, in a tag, a count or a length", () => {
    const eleven = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    expect(oursReads(bytes(eleven))).toBe("throws");
    expect(oursReads(partial(0x08, eleven))).toBe("throws");
    expect(oursReads(bytes(0x0a, eleven))).toBe("throws");
    expect(oursReads(bytes(0x0a, 0x80))).toBe("throws"); // a varint cut off
  });

  it("refuses a length past the end, however large (2^31, 2^53, 2^64 - 1), instead of reading past the buffer", () => {
    for (const length of [
      [0x80, 0x80, 0x80, 0x80, 0x08],
      [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10],
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    ]) {
      expect(oursReads(bytes(0x0a, length, 0x08, 0x01))).toBe("throws");
      expect(oursReads(partial(0x12, length, 0x41))).toBe("throws");
      expect(oursReads(bytes(0x2a, length, 0x41))).toBe("throws"); // an unknown field's length
    }
  });

  it("refuses an error_message (or an unknown field) that overruns its partial_success, the next field's bytes being there", () => {
    // partial_success says 4 bytes; its error_message says 5, which the top level has.
    expect(oursReads(bytes(0x0a, 4, 0x12, 5, 0x41, 0x42, 0x43, 0x44, 0x45))).toBe("throws");
    expect(oursReads(bytes(0x0a, 3, 0x19, 1, 2, 3, 4, 5, 6, 7, 8))).toBe("throws"); // fixed64 overruns
    expect(oursReads(bytes(0x0a, 1, 0x08, 0x05))).toBe("throws"); // the count's varint overruns
  });

  it("refuses every truncation of a one-field response", () => {
    const whole = encode({ partialSuccess: { rejectedSpans: 300_000, errorMessage: "spans too old" } });
    for (let cut = 1; cut < whole.length; cut++) expect(oursReads(whole.subarray(0, cut))).toBe("throws");
  });
});

describe("decodeExportTraceResponse, wire types and groups", () => {
  it("skips an unknown group (wire types 3 and 4, deprecated but legal) as the official reader does", () => {
    const data = bytes(
      [0x1b, 0x08, 0x01, 0x13, 0x0a, 0x01, 0x41, 0x14, 0x1c], // field 3: a group holding a nested group
      partial(0x08, 5, 0x12, 2, 0x6f, 0x6b),
    );
    expect(oursReads(data)).toEqual({ rejectedSpans: 5, errorMessage: "ok" });
    expect(oursReads(data)).toEqual(transformerReads(data));
    // Inside partial_success too.
    const inner = partial([0x1b, 0x08, 0x01, 0x1c], 0x08, 7);
    expect(oursReads(inner)).toEqual({ rejectedSpans: 7 });
    expect(oursReads(inner)).toEqual(transformerReads(inner));
  });

  it("refuses an end-group without its start, a group never closed, and wire types 6 and 7", () => {
    for (const data of [
      bytes(0x1c, partial(0x08, 5)),
      bytes(0x1b, 0x08, 0x01),
      bytes(0x1e, partial(0x08, 5)),
      bytes(0x1f, partial(0x08, 5)),
      partial(0x1c, 0x08, 5),
      partial(0x1e),
    ]) {
      expect(oursReads(data)).toBe("throws");
      expect(transformerReads(data)).toBe("throws");
    }
  });

  it("refuses a group closed by another field's end-group (the spec's rule; protobufjs lets it pass)", () => {
    const data = bytes([0x1b, 0x08, 0x01, 0x24], partial(0x08, 5)); // opened as field 3, closed as field 4
    expect(oursReads(data)).toBe("throws");
    expect(transformerReads(data)).toEqual({ rejectedSpans: 5 });
  });

  it("refuses groups nested past 100 deep without exhausting the stack", () => {
    const deep = new Uint8Array(1_000_000).fill(0x1b);
    expect(oursReads(deep)).toBe("throws");
    const open = Array.from({ length: 100 }, () => 0x1b);
    const close = Array.from({ length: 100 }, () => 0x1c);
    expect(oursReads(bytes(open, close, partial(0x08, 3)))).toEqual({ rejectedSpans: 3 });
    expect(oursReads(bytes(open, 0x1b, 0x1c, close))).toBe("throws");
  });

  it("treats a field 1 or 2 of the wrong wire type as unknown (skipped), never as a count or a message", () => {
    expect(oursReads(bytes(0x08, 0x05))).toBeUndefined(); // partial_success as a varint
    expect(oursReads(partial(0x0a, 1, 0x41))).toEqual({}); // rejected_spans as bytes
    expect(oursReads(partial(0x10, 0x41))).toEqual({}); // error_message as a varint
  });
});

describe("decodeExportTraceResponse, sizes and text", () => {
  it("reads a message of megabytes, and a million repeated partial_success fields as one merged (last value wins)", () => {
    const big = "x".repeat(4 * 1024 * 1024);
    expect(oursReads(encode({ partialSuccess: { rejectedSpans: 1, errorMessage: big } }))).toEqual({
      rejectedSpans: 1,
      errorMessage: big,
    });
    const one = partial(0x08, 1);
    const many = new Uint8Array(one.length * 1_000_000);
    for (let i = 0; i < 1_000_000; i++) many.set(one, i * one.length);
    many.set(partial(0x08, 9), many.length - one.length);
    expect(oursReads(many)).toEqual({ rejectedSpans: 9 });
  });

  it("turns invalid UTF-8 in error_message into U+FFFD, never into raw bytes", () => {
    const read = oursReads(partial(0x12, 5, [0xff, 0xc3, 0x41, 0xed, 0xa0])) as { errorMessage: string };
    expect(read.errorMessage).toBe("\ufffd\ufffdA\ufffd\ufffd");
    expect(read.errorMessage).not.toMatch(/\p{Cs}/u);
  });

  it("refuses a JSON reply and a body of garbage, or reads it as nothing; random bytes never crash it", () => {
    for (const text of ['{"partialSuccess":{"rejectedSpans":3}}', "<html>502 Bad Gateway</html>", "OK"])
      expect(["throws", undefined]).toContain(oursReads(Buffer.from(text)));
    for (let i = 0; i < 5_000; i++) {
      const data = randomBytes(1 + (i % 64));
      const ours = oursReads(data);
      if (typeof ours === "object" && ours.rejectedSpans !== undefined)
        expect(Math.abs(ours.rejectedSpans)).toBeLessThanOrEqual(2 ** 63);
    }
  });
});
