import { defaultTextMapGetter, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { describe, expect, it } from "vitest";
import { contextFromCarrier, parseTraceparent } from "./trace.js";

const propagator = new W3CTraceContextPropagator();

/** What the SDK's W3C propagator makes of a `traceparent` (undefined when it takes none). */
function sdk(value: string) {
  const context = propagator.extract(ROOT_CONTEXT, { traceparent: value }, defaultTextMapGetter);
  const span = trace.getSpanContext(context);
  return span && { traceId: span.traceId, spanId: span.spanId, traceFlags: span.traceFlags };
}

const VALID = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
/** Characters a hostile or sloppy caller might put anywhere. */
const ODD = [
  "0",
  "f",
  "F",
  "A",
  "g",
  "-",
  " ",
  "\t",
  "\n",
  "\r",
  "\v",
  "\u00a0",
  "\u2028",
  "\u3000",
  "\ufeff",
  "\u180e",
  "x",
  "é",
  "\u0000",
];

/** The valid header with each character replaced by each odd one, and cut, padded and extended. */
function hostile(): string[] {
  const out = new Set<string>();
  for (const version of ["00", "01", "cc", "fe", "ff", "0f", "f0"]) {
    const base = version + VALID.slice(2);
    out.add(base);
    for (let i = 0; i < base.length; i++) {
      for (const c of ODD) {
        out.add(base.slice(0, i) + c + base.slice(i + 1));
        out.add(base.slice(0, i) + c + base.slice(i));
      }
      out.add(base.slice(0, i));
    }
    for (const a of ["", ...ODD])
      for (const b of [
        "",
        ...ODD,
        "-",
        "-x",
        "-x ",
        "-x\n",
        "-x\ny",
        "-x\n\n",
        "-\u2028",
        "-x\u2029 ",
        "  ",
        "-01-extra",
      ])
        out.add(a + base + b);
    out.add(`${version}-${"0".repeat(32)}-b7ad6b7169203331-01`);
    out.add(`${version}-0af7651916cd43dd8448eb211c80319c-${"0".repeat(16)}-01`);
    out.add(`${version}-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01`);
    for (const flags of ["00", "01", "02", "ff", "7f", "fF"]) out.add(base.slice(0, -2) + flags);
  }
  out.add("");
  out.add("garbage");
  return [...out];
}

describe("parseTraceparent", () => {
  it("takes exactly what the SDK's W3C propagator takes, with the same fields", () => {
    const cases = hostile();
    expect(cases.length).toBeGreaterThan(10_000);
    let accepted = 0;
    for (const value of cases) {
      const expected = sdk(value);
      if (expected) accepted++;
      expect([value, parseTraceparent(value)]).toEqual([value, expected]);
    }
    expect(accepted).toBeGreaterThan(100); // the comparison is not of rejections alone
  });

  it("takes random strings built from a traceparent's alphabet as the SDK does", () => {
    const alphabet = "0123456789abcdefF- \n";
    let seed = 16;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let n = 0; n < 20_000; n++) {
      // Mostly well-formed: a valid header with a few characters changed.
      const chars = VALID.split("");
      for (let k = Math.floor(random() * 3); k >= 0; k--)
        chars[Math.floor(random() * chars.length)] = alphabet[
          Math.floor(random() * alphabet.length)
        ] as string;
      const value = chars.join("");
      expect([value, parseTraceparent(value)]).toEqual([value, sdk(value)]);
    }
  });

  it("refuses version ff and all-zero ids", () => {
    expect(parseTraceparent(VALID)).toEqual({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: 1,
    });
    expect(parseTraceparent(`ff${VALID.slice(2)}`)).toBeUndefined();
    expect(parseTraceparent(`00-${"0".repeat(32)}-b7ad6b7169203331-01`)).toBeUndefined();
    expect(parseTraceparent(`00-0af7651916cd43dd8448eb211c80319c-${"0".repeat(16)}-01`)).toBeUndefined();
  });
});

describe("contextFromCarrier (InvokeMeta.trace read without the propagator)", () => {
  /** Everything the SDK's propagator puts in the span context it extracts from the same carrier. */
  const viaPropagator = (carrier: { traceparent: string; tracestate?: string }) => {
    const span = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
    return span && { ...span, traceState: span.traceState?.serialize() };
  };
  const viaCarrier = (carrier: { traceparent: string; tracestate?: string }) => {
    const span = trace.getSpanContext(contextFromCarrier(carrier));
    return span && { ...span, traceState: span.traceState?.serialize() };
  };

  it("makes the remote parent the W3C propagator makes, trace state included", () => {
    for (const carrier of [
      { traceparent: VALID },
      { traceparent: VALID.replace(/01$/, "00") },
      { traceparent: VALID, tracestate: "vendor=abc,other=1" },
      { traceparent: `ff${VALID.slice(2)}` },
      { traceparent: "nonsense" },
      // Hostile carriers: bad ids, a future version's fields, tracestate too long, too many members, bad chars.
      { traceparent: VALID.toUpperCase() },
      { traceparent: `00-${"0".repeat(32)}-b7ad6b7169203331-01` },
      { traceparent: `01${VALID.slice(2)}-future-fields` },
      { traceparent: `00${VALID.slice(2)}-more` },
      { traceparent: ` ${VALID} ` },
      { traceparent: `${VALID}\n` },
      { traceparent: VALID.replace(/01$/, "ff") },
      { traceparent: VALID, tracestate: Array.from({ length: 40 }, (_, i) => `k${i}=v${i}`).join(",") },
      { traceparent: VALID, tracestate: `a=${"x".repeat(600)}` },
      { traceparent: VALID, tracestate: "UPPER=1,ok=2,bad key=3,v=\u0000,=,,a=b=c, sp = 4 " },
      { traceparent: VALID, tracestate: "" },
    ]) {
      expect([carrier, viaCarrier(carrier)]).toEqual([carrier, viaPropagator(carrier)]);
    }
  });

  it("is the empty context without a carrier or a valid traceparent", () => {
    expect(trace.getSpanContext(contextFromCarrier(undefined))).toBeUndefined();
    expect(trace.getSpanContext(contextFromCarrier({ traceparent: "nonsense" }))).toBeUndefined();
  });
});
