import {
  type Attributes,
  type AttributeValue,
  context,
  type HrTime,
  ROOT_CONTEXT,
  SamplingDecision,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TimeInput,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { TraceState } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  type Sampler,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it, vi } from "vitest";
import { EMPTY_CONTEXT, SynchronousContextManager } from "./sync-context.js";
import {
  type EndedSpanSink,
  epochTime,
  type GatehouseSpan,
  GatehouseTracerProvider,
  samplingFromEnv,
  spanLimitsFromEnv,
} from "./tracer.js";

/** A tracer of Gatehouse's whose ended (sampled) spans are kept in memory, with the settings in `env`. */
async function tracerWith(env: NodeJS.ProcessEnv = {}): Promise<{ tracer: Tracer; ended: GatehouseSpan[] }> {
  const ended: GatehouseSpan[] = [];
  const sink: EndedSpanSink<string> = {
    scope: (name) => name,
    onEnd: (span) => ended.push(span),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new GatehouseTracerProvider({
    sink,
    sampling: await samplingFromEnv(env),
    limits: spanLimitsFromEnv(env),
  });
  return { tracer: provider.getTracer("test"), ended };
}

const remoteParent = (flags: number) =>
  trace.setSpanContext(ROOT_CONTEXT, {
    traceId: "0af7651916cd43dd8448eb211c80319c",
    spanId: "b7ad6b7169203331",
    traceFlags: flags,
    isRemote: true,
  });

const attributesOf = (span: GatehouseSpan) => span.attributes();

/** A seeded generator (the same calls every run), and a pick from a list by it. */
function seeded(seed: number) {
  let state = seed;
  const random = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  return { random, pick };
}

/** The ended spans' attributes (in order) and dropped counts: Gatehouse's, and the SDK's in `exporter`. */
function attributesOfBoth(ended: GatehouseSpan[], exporter: InMemorySpanExporter) {
  return {
    ours: ended.map((span) => [Object.entries(attributesOf(span)), span.droppedAttributes]),
    theirs: exporter
      .getFinishedSpans()
      .map((span) => [Object.entries(span.attributes), span.droppedAttributesCount]),
  };
}

/** A span that only moves the tracer's time base (the base is the module's, whichever tracer starts it). */
const baseMover = new GatehouseTracerProvider({
  sink: { scope: () => "", onEnd: () => {}, forceFlush: async () => {}, shutdown: async () => {} },
  sampling: { parentBased: false, root: true },
  limits: spanLimitsFromEnv({}),
}).getTracer("base");

/**
 * `performance.now()` and `Date.now()` under a test's control, 10 s ahead of the real ones (past the
 * tracer's last look at the clock) and as far apart as they are, so that the time base a test leaves
 * behind still tells the real time. `Date.now()` truncates `time.wall`, as the real one truncates the time.
 * The tracer's base is then `time.wall` less `fraction`: the base it had is the real clock's, which these
 * clocks agree with to a millisecond or two only, so that it could be kept, or be kept at the test's
 * first look at the clock and left at a later one as `time.wall`'s fraction changed. So the clock is
 * set 5 s off, for a span to follow, and then a second later back, for another.
 */
function controlledClocks(fraction: number) {
  const perf = performance.now() + 10_000;
  const time = { perf, wall: Math.floor(Date.now() - performance.now() + perf) + fraction };
  const perfNow = vi.spyOn(performance, "now").mockImplementation(() => time.perf);
  const dateNow = vi.spyOn(Date, "now").mockImplementation(() => Math.floor(time.wall));
  time.wall += 5_000;
  baseMover.startSpan("off", {}, ROOT_CONTEXT);
  time.perf += 1_000;
  time.wall += 1_000 - 5_000;
  baseMover.startSpan("back", {}, ROOT_CONTEXT);
  return {
    time,
    advance(ms: number) {
      time.perf += ms;
      time.wall += ms;
    },
    restore() {
      perfNow.mockRestore();
      dateNow.mockRestore();
    },
  };
}

describe("Gatehouse's tracer", () => {
  it("continues a remote parent's trace, and starts a trace of its own without one", async () => {
    const { tracer, ended } = await tracerWith();
    const child = tracer.startSpan("child", { kind: SpanKind.SERVER }, remoteParent(TraceFlags.SAMPLED));
    const root = tracer.startSpan("root", {}, ROOT_CONTEXT);
    const forcedRoot = tracer.startSpan("forced", { root: true }, remoteParent(TraceFlags.SAMPLED));
    for (const s of [child, root, forcedRoot]) s.end();
    const [c, r, f] = ended as [GatehouseSpan, GatehouseSpan, GatehouseSpan];
    expect(c.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(c.parentSpanId).toBe("b7ad6b7169203331");
    expect(c.parentIsRemote).toBe(true);
    expect(c.kind).toBe(SpanKind.SERVER);
    for (const s of [r, f]) {
      expect(s.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanContext().traceId).not.toBe("0af7651916cd43dd8448eb211c80319c");
      expect(s.parentSpanId).toBeUndefined();
    }
    const ids = new Set(ended.map((s) => s.spanContext().spanId));
    expect(ids.size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });

  it("keeps a parent's decision not to sample (parentbased_always_on), recording nothing but passing the trace on", async () => {
    const { tracer, ended } = await tracerWith();
    const span = tracer.startSpan("unsampled", {}, remoteParent(TraceFlags.NONE));
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(span.spanContext().traceFlags).toBe(TraceFlags.NONE);
    span.end();
    expect(ended).toHaveLength(0);
  });

  it("carries an unsampled span's trace to its children, which record nothing either", async () => {
    const { tracer, ended } = await tracerWith({ OTEL_TRACES_SAMPLER: "parentbased_always_off" });
    const root = tracer.startSpan("root", {}, EMPTY_CONTEXT);
    const child = tracer.startSpan("child", {}, trace.setSpan(EMPTY_CONTEXT, root));
    expect([root.isRecording(), child.isRecording()]).toEqual([false, false]);
    expect(child.spanContext().traceId).toBe(root.spanContext().traceId);
    expect(child.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(child.spanContext().spanId).not.toBe(root.spanContext().spanId);
    expect(child.spanContext().traceFlags).toBe(TraceFlags.NONE);
    root.end();
    child.end();
    expect(ended).toHaveLength(0);
  });

  it("honours OTEL_TRACES_SAMPLER and _ARG", async () => {
    const count = async (env: NodeJS.ProcessEnv, parent = ROOT_CONTEXT) => {
      const { tracer, ended } = await tracerWith(env);
      for (let i = 0; i < 2000; i++) tracer.startSpan("s", {}, parent).end();
      return ended.length;
    };
    expect(await count({ OTEL_TRACES_SAMPLER: "always_off" })).toBe(0);
    expect(await count({ OTEL_TRACES_SAMPLER: "always_on" }, remoteParent(TraceFlags.NONE))).toBe(2000);
    expect(await count({ OTEL_TRACES_SAMPLER: "parentbased_always_off" })).toBe(0);
    expect(
      await count({ OTEL_TRACES_SAMPLER: "parentbased_always_off" }, remoteParent(TraceFlags.SAMPLED)),
    ).toBe(2000);
    const ratio = await count({
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.1",
    });
    expect(ratio).toBeGreaterThan(100);
    expect(ratio).toBeLessThan(320);
    expect(await count({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" })).toBe(0);
    expect(await count({ OTEL_TRACES_SAMPLER: "no-such-sampler" })).toBe(2000);
  });

  it("keeps one value per attribute key, ignores values the API does not allow, and nothing after end", async () => {
    const { tracer, ended } = await tracerWith();
    const span = tracer.startSpan("s", { attributes: { a: "first", b: 1 } });
    span.setAttribute("a", "second");
    span.setAttribute("c", ["x", "y"]);
    span.setAttribute("bad", { nested: true } as never);
    span.setAttribute("mixed", ["x", 1] as never);
    span.setAttribute("", "no key");
    span.setAttribute("u", undefined as never);
    span.setAttribute("bigint", 10n as never);
    span.setAttribute("function", (() => 1) as never);
    span.setAttribute("symbol", Symbol("s") as never);
    span.setAttributes({ d: true, e: 2.5 });
    span.setStatus({ code: SpanStatusCode.OK });
    span.setStatus({ code: SpanStatusCode.ERROR, message: "too late: OK is final" });
    span.end();
    span.setAttribute("after", 1);
    span.end();
    expect(ended).toHaveLength(1);
    const [s] = ended as [GatehouseSpan];
    expect(attributesOf(s)).toEqual({ a: "second", b: 1, c: ["x", "y"], d: true, e: 2.5 });
    expect(s.statusCode).toBe(SpanStatusCode.OK);
    expect(s.statusMessage).toBeUndefined();
    expect(s.isRecording()).toBe(false);
  });

  it("keeps every attribute of a span that sets many, in the order first set, a replaced one in its place", async () => {
    const { tracer, ended } = await tracerWith();
    const span = tracer.startSpan("s", { attributes: { k0: 0 } });
    for (let i = 1; i < 40; i++) span.setAttribute(`k${i}`, i);
    span.setAttribute("k3", "three");
    span.setAttribute("k39", "last");
    span.end();
    const [s] = ended as [GatehouseSpan];
    const expected: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) expected[`k${i}`] = i;
    expected.k3 = "three";
    expected.k39 = "last";
    expect(Object.entries(attributesOf(s))).toEqual(Object.entries(expected));
  });

  it("keeps frozen start attributes by reference, and a later value of one of them in its place", async () => {
    const { tracer, ended } = await tracerWith();
    const shared = Object.freeze({ "http.request.method": "POST", "server.port": 443, "url.path": "/v1" });
    const a = tracer.startSpan("a", { attributes: shared });
    const b = tracer.startSpan("b", { attributes: shared });
    a.setAttribute("http.response.status_code", 200);
    b.setAttribute("http.response.status_code", 500);
    b.setAttribute("server.port", 8443); // one of the shared ones, set again: the object is not touched
    a.end();
    b.end();
    const [sa, sb] = ended as [GatehouseSpan, GatehouseSpan];
    expect(sa.shared).toBe(shared);
    expect(Object.entries(attributesOf(sa))).toEqual([
      ["http.request.method", "POST"],
      ["server.port", 443],
      ["url.path", "/v1"],
      ["http.response.status_code", 200],
    ]);
    expect(Object.entries(attributesOf(sb))).toEqual([
      ["http.request.method", "POST"],
      ["server.port", 8443],
      ["url.path", "/v1"],
      ["http.response.status_code", 500],
    ]);
    expect(shared["server.port"]).toBe(443);
  });

  it("keeps a frozen object given to setAttributes by reference only while the span has no attributes", async () => {
    const { tracer, ended } = await tracerWith();
    const first = Object.freeze({ op: "chat", stream: false });
    const a = tracer.startSpan("a");
    a.setAttributes(first);
    a.setAttributes(Object.freeze({ model: "m", op: "embeddings" }));
    a.end();
    const b = tracer.startSpan("b", { attributes: { before: 1 } });
    b.setAttributes(first);
    b.end();
    const [sa, sb] = ended as [GatehouseSpan, GatehouseSpan];
    expect(Object.entries(attributesOf(sa))).toEqual([
      ["op", "embeddings"],
      ["stream", false],
      ["model", "m"],
    ]);
    expect(first.op).toBe("chat");
    expect(sb.shared).toBeUndefined();
    expect(Object.entries(attributesOf(sb))).toEqual([
      ["before", 1],
      ["op", "chat"],
      ["stream", false],
    ]);
  });

  it("puts a frozen object that extends a span's shared attributes in their place, by reference", async () => {
    const { tracer, ended } = await tracerWith();
    const first = Object.freeze({ op: "chat", model: "m" });
    const wider = Object.freeze({ op: "chat", model: "m", provider: "openai" });
    const a = tracer.startSpan("a", { attributes: first });
    a.setAttributes(wider);
    a.setAttribute("status", 200);
    a.end();
    // Not an extension: a value differs, the order differs, or the span has attributes of its own.
    const b = tracer.startSpan("b", { attributes: first });
    b.setAttributes(Object.freeze({ op: "embeddings", model: "m", provider: "openai" }));
    b.end();
    const c = tracer.startSpan("c", { attributes: first });
    c.setAttributes(Object.freeze({ provider: "openai", op: "chat", model: "m" }));
    c.end();
    const d = tracer.startSpan("d", { attributes: first });
    d.setAttribute("own", 1);
    d.setAttributes(wider);
    d.end();
    const [sa, sb, sc, sd] = ended as [GatehouseSpan, GatehouseSpan, GatehouseSpan, GatehouseSpan];
    expect(sa.shared).toBe(wider);
    expect(Object.entries(attributesOf(sa))).toEqual([
      ["op", "chat"],
      ["model", "m"],
      ["provider", "openai"],
      ["status", 200],
    ]);
    // The others as setting each attribute in turn gives them.
    expect(Object.entries(attributesOf(sb))).toEqual([
      ["op", "embeddings"],
      ["model", "m"],
      ["provider", "openai"],
    ]);
    expect(Object.entries(attributesOf(sc))).toEqual([
      ["op", "chat"],
      ["model", "m"],
      ["provider", "openai"],
    ]);
    expect(Object.entries(attributesOf(sd))).toEqual([
      ["op", "chat"],
      ["model", "m"],
      ["own", 1],
      ["provider", "openai"],
    ]);
    for (const s of [sb, sc, sd]) expect(s.shared).not.toBe(wider);
    // Under a count limit that `wider` exceeds (another provider's), it is set attribute by attribute.
    const { tracer: limited, ended: limitedEnded } = await tracerWith({
      OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "2",
    });
    limited.startSpan("e", { attributes: first }).setAttributes(wider).end();
    const [se] = limitedEnded as [GatehouseSpan];
    expect(attributesOf(se)).toEqual({ op: "chat", model: "m" });
    expect(se.droppedAttributes).toBe(1);
  });

  it("copies frozen start attributes that the limits or the API's value types would change", async () => {
    const { tracer, ended } = await tracerWith({ OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "2" });
    tracer.startSpan("over", { attributes: Object.freeze({ a: 1, b: 2, c: 3 }) }).end();
    tracer
      .startSpan("invalid", { attributes: Object.freeze({ a: 1, bad: { nested: true } as never }) })
      .end();
    const [over, invalid] = ended as [GatehouseSpan, GatehouseSpan];
    expect(attributesOf(over)).toEqual({ a: 1, b: 2 });
    expect(over.droppedAttributes).toBe(1);
    expect(attributesOf(invalid)).toEqual({ a: 1 });
    const { tracer: short, ended: shortEnded } = await tracerWith({ OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "2" });
    const given = Object.freeze({ s: "abcdef" });
    short.startSpan("truncated", { attributes: given }).end();
    const [truncated] = shortEnded as [GatehouseSpan];
    expect(attributesOf(truncated)).toEqual({ s: "ab" });
    expect(truncated.shared).toBeUndefined();
  });

  it("reads a frozen object's getter once, at the start, as the SDK does, rather than keeping the object", async () => {
    // Frozen, but not fixed: a getter's value at the end could be another (here one the API does not
    // allow, which the encoder would have written as a key-value list), or it could throw there.
    const { tracer, ended } = await tracerWith();
    let reads = 0;
    const given = Object.freeze({
      get model() {
        reads++;
        return reads === 1 ? "first" : ({ later: true } as never);
      },
      plain: "p",
    });
    tracer.startSpan("getter", { attributes: given }).end();
    const span = tracer.startSpan("set");
    span.setAttributes(given);
    span.end();
    const [started, set] = ended as [GatehouseSpan, GatehouseSpan];
    expect(started.shared).toBeUndefined();
    expect(attributesOf(started)).toEqual({ model: "first", plain: "p" });
    expect(set.shared).toBeUndefined();
    expect(attributesOf(set)).toEqual({ plain: "p" });
  });

  it("keeps the attributes and dropped count the SDK's span keeps, frozen objects shared by many spans or not", async () => {
    // The same random calls on a span of each: start attributes and setAttributes objects drawn from a
    // few frozen ones that many spans share (kept by reference here, then set again), or plain ones.
    const { random, pick } = seeded(0x2545f491);
    const keys = ["a", "b", "c", "d", "e"];
    const values: unknown[] = [
      "xyz",
      "abcdef",
      "",
      0,
      7,
      2.5,
      true,
      ["s", "tuvw"],
      [1, 2],
      { o: 1 },
      [1, "x"],
      null,
      undefined,
    ];
    const object = (): Attributes => {
      const out: Record<string, unknown> = {};
      for (let n = Math.floor(random() * 4); n > 0; n--) out[pick(keys)] = pick(values);
      return out as Attributes;
    };
    const frozen = Array.from({ length: 8 }, () => Object.freeze(object()));
    const given = () => (random() < 0.7 ? pick(frozen) : object());
    let keptByReference = 0;
    for (const [countLimit, lengthLimit] of [
      [128, ""],
      [0, ""],
      [1, ""],
      [2, ""],
      [3, "3"],
      [128, "0"],
    ] as const) {
      const env = {
        OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: String(countLimit),
        ...(lengthLimit ? { OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: lengthLimit } : {}),
      };
      const { tracer, ended } = await tracerWith(env);
      const exporter = new InMemorySpanExporter();
      const sdk = new BasicTracerProvider({
        spanLimits: {
          attributeCountLimit: countLimit,
          ...(lengthLimit ? { attributeValueLengthLimit: Number(lengthLimit) } : {}),
        },
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      }).getTracer("sdk");
      for (let i = 0; i < 300; i++) {
        const start = random() < 0.8 ? given() : undefined;
        const options = start === undefined ? {} : { attributes: start };
        const spans = [
          tracer.startSpan("s", options, ROOT_CONTEXT),
          sdk.startSpan("s", options, ROOT_CONTEXT),
        ];
        for (let n = Math.floor(random() * 6); n > 0; n--) {
          if (random() < 0.7) {
            const key = pick(keys);
            const value = pick(values) as AttributeValue;
            for (const span of spans) span.setAttribute(key, value);
          } else {
            const more = given();
            for (const span of spans) span.setAttributes(more);
          }
        }
        for (const span of spans) span.end();
      }
      const { ours, theirs } = attributesOfBoth(ended, exporter);
      expect({ env, spans: ours }).toEqual({ env, spans: theirs });
      keptByReference += ended.filter((span) => span.shared !== undefined).length;
    }
    expect(keptByReference).toBeGreaterThan(100);
  });

  it("takes an object's own keys only, as the SDK (a key of its prototype is not an attribute)", async () => {
    const { tracer, ended } = await tracerWith();
    const withPrototype = () => Object.assign(Object.create({ inherited: "x" }) as Attributes, { own: "y" });
    const span = tracer.startSpan("s", { attributes: withPrototype() });
    const later = tracer.startSpan("t");
    later.setAttributes(withPrototype());
    later.addEvent("e", withPrototype());
    span.end();
    later.end();
    const [s, t] = ended as [GatehouseSpan, GatehouseSpan];
    expect(attributesOf(s)).toEqual({ own: "y" });
    expect(attributesOf(t)).toEqual({ own: "y" });
    expect(t.events?.[0]?.attributes).toEqual({ own: "y" });
  });

  it("keeps to the span limits from the environment", async () => {
    const { tracer, ended } = await tracerWith({
      OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "2",
      OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "3",
      OTEL_SPAN_EVENT_COUNT_LIMIT: "1",
    });
    const span = tracer.startSpan("s", { attributes: { a: "abcdef", b: ["wxyz", "v"] } });
    span.setAttribute("c", 1);
    span.setAttribute("a", "ghijk"); // a key already there is replaced, not counted again
    span.addEvent("first");
    span.addEvent("second");
    span.end();
    const [s] = ended as [GatehouseSpan];
    expect(attributesOf(s)).toEqual({ a: "ghi", b: ["wxy", "v"] });
    expect(s.droppedAttributes).toBe(1);
    expect(s.events?.map((e) => e.name)).toEqual(["second"]);
    expect(s.droppedEvents).toBe(1);
  });

  it("cuts no value under a value length limit of 0, as the SDK's span (which takes it for invalid)", async () => {
    const { tracer, ended } = await tracerWith({ OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: "0" });
    const shared = Object.freeze({ model: "gpt-x" });
    const span = tracer.startSpan("s", { attributes: shared });
    span.setAttribute("reasons", ["stop"]);
    span.addEvent("e", { why: "because" });
    span.end();
    const [s] = ended as [GatehouseSpan];
    expect(attributesOf(s)).toEqual({ model: "gpt-x", reasons: ["stop"] });
    expect(s.shared).toBe(shared);
    expect(s.events?.[0]?.attributes).toEqual({ why: "because" });
  });

  it("times a span against the wall clock, exactly as long as it lasted", async () => {
    const { tracer, ended } = await tracerWith();
    const before = Date.now();
    const span = tracer.startSpan("s");
    const startedAt = performance.now();
    while (performance.now() - startedAt < 5);
    span.end();
    const after = Date.now();
    const [s] = ended as [GatehouseSpan];
    const [startS, startNs] = epochTime(s.baseMs, s.start);
    const [endS, endNs] = epochTime(s.baseMs, s.end_);
    const startMs = startS * 1000 + startNs / 1e6;
    const endMs = endS * 1000 + endNs / 1e6;
    expect(startMs).toBeGreaterThanOrEqual(before - 1);
    expect(endMs).toBeLessThanOrEqual(after + 1);
    expect(endMs - startMs).toBeGreaterThanOrEqual(5);

    const given = tracer.startSpan("given", { startTime: new Date(1_764_470_400_123) });
    given.end(1_764_470_400_623);
    const [, g] = ended as [GatehouseSpan, GatehouseSpan];
    expect(epochTime(g.baseMs, g.start)).toEqual([1_764_470_400, 123_000_000]);
    expect(epochTime(g.baseMs, g.end_)).toEqual([1_764_470_400, 623_000_000]);
  });

  it("ends once and stops recording when given start and end times lie before its time base", async () => {
    const { tracer, ended } = await tracerWith();
    const now = Date.now();
    const span = tracer.startSpan("backdated", { startTime: new Date(now - 5_000) });
    span.end(new Date(now - 4_000));
    expect(span.isRecording()).toBe(false);
    span.setAttribute("after", 1);
    span.end();
    expect(ended).toHaveLength(1);
    const [s] = ended as [GatehouseSpan];
    expect(attributesOf(s)).toEqual({});
    const [endS, endNs] = epochTime(s.baseMs, s.end_);
    expect(endS * 1000 + endNs / 1e6).toBeCloseTo(now - 4_000, 3);
  });

  it("times an event given two times by the second, as the SDK's span does", async () => {
    const { tracer, ended } = await tracerWith();
    const now = Date.now();
    const span = tracer.startSpan("s");
    span.addEvent("both", new Date(now - 2_000), new Date(now - 1_000));
    span.addEvent("one", new Date(now - 3_000));
    span.end();
    const [s] = ended as [GatehouseSpan];
    const at = (i: number) => {
      const [seconds, nanos] = epochTime(s.baseMs, s.events?.[i]?.time ?? Number.NaN);
      return seconds * 1000 + nanos / 1e6;
    };
    expect(at(0)).toBeCloseTo(now - 1_000, 3);
    expect(at(1)).toBeCloseTo(now - 3_000, 3);
    expect(s.events?.[0]?.attributes).toBeUndefined();
  });

  it("records an exception's fields as the SDK's span does: empty ones left out, nothing without a type or message", async () => {
    const { tracer, ended } = await tracerWith();
    const span = tracer.startSpan("s");
    span.recordException({ code: 0, name: "TimeoutError", message: "" });
    span.recordException({ message: "" });
    span.recordException("plain words");
    span.recordException({ code: "ECONNRESET", message: "socket hang up", stack: "at x" });
    span.end();
    const [s] = ended as [GatehouseSpan];
    expect(s.events?.map((e) => e.attributes)).toEqual([
      { "exception.type": "TimeoutError" },
      { "exception.message": "plain words" },
      {
        "exception.type": "ECONNRESET",
        "exception.message": "socket hang up",
        "exception.stacktrace": "at x",
      },
    ]);
  });

  it("keeps its wall-clock base while the clock agrees with it, so that a child does not end after its parent", async () => {
    const { tracer, ended } = await tracerWith();
    const clocks = controlledClocks(0.9); // `Date.now()` 0.9 ms behind the time at the first span
    try {
      const parent = tracer.startSpan("parent");
      clocks.advance(1_000.1); // a second later, `Date.now()` is exact
      const child = tracer.startSpan("child", {}, trace.setSpan(ROOT_CONTEXT, parent));
      clocks.advance(0.5);
      child.end();
      clocks.advance(0.2);
      parent.end();
    } finally {
      clocks.restore();
    }
    const [child, parent] = ended as [GatehouseSpan, GatehouseSpan];
    const nanos = (s: GatehouseSpan, at: number) => {
      const [seconds, ns] = epochTime(s.baseMs, at);
      return BigInt(seconds) * 1_000_000_000n + BigInt(ns);
    };
    expect(nanos(parent, parent.end_) - nanos(child, child.end_)).toBe(200_000n);
    expect(nanos(child, child.start) - nanos(parent, parent.start)).toBe(1_000_100_000n);
  });

  it("follows the wall clock when it was set", async () => {
    const { tracer, ended } = await tracerWith();
    const clocks = controlledClocks(0);
    let expected: number;
    try {
      tracer.startSpan("before").end();
      clocks.advance(3_000);
      clocks.time.wall += 5_000; // the clock was set 5 s forward meanwhile
      expected = clocks.time.wall;
      tracer.startSpan("after").end();
      clocks.advance(3_000);
      clocks.time.wall -= 5_000; // and back, so the base left behind tells the real time
      tracer.startSpan("back").end();
    } finally {
      clocks.restore();
    }
    const [, after] = ended as [GatehouseSpan, GatehouseSpan];
    expect(epochTime(after.baseMs, after.start)).toEqual(epochTime(expected, 0));
  });

  it("keeps start times and durations exact while the time base moves on (spans started far apart)", async () => {
    const { tracer, ended } = await tracerWith();
    const clocks = controlledClocks(0.5);
    const from = clocks.time.perf;
    try {
      for (const offset of [0, 0.25, 999.9999995, 1000, 1000.000001, 2500.25, 4100.5]) {
        clocks.advance(from + offset - clocks.time.perf);
        const span = tracer.startSpan("s");
        clocks.advance(12.345678);
        span.end();
      }
    } finally {
      clocks.restore();
    }
    const times = ended.map((s) => {
      const [startS, startNs] = epochTime(s.baseMs, s.start);
      const [endS, endNs] = epochTime(s.baseMs, s.end_);
      // Epoch nanoseconds as a BigInt: as milliseconds in a double (~1.7e12) the last digit is 244 ns.
      return {
        start: BigInt(startS) * 1_000_000_000n + BigInt(startNs),
        ns: (endS - startS) * 1e9 + (endNs - startNs),
      };
    });
    // Each span lasted 12.345678 ms (each time is rounded to the nanosecond on its own), and started
    // where the clock said.
    for (const t of times) expect(Math.abs(t.ns - 12_345_678)).toBeLessThanOrEqual(1);
    const first = times[0]?.start ?? 0n;
    expect(times.map((t) => Number(t.start - first) / 1e6)).toEqual([
      0,
      expect.closeTo(0.25, 5),
      expect.closeTo(999.9999995, 5),
      expect.closeTo(1000, 5),
      expect.closeTo(1000.000001, 5),
      expect.closeTo(2500.25, 5),
      expect.closeTo(4100.5, 5),
    ]);
  });

  it("turns a time into whole seconds and nanoseconds exactly", () => {
    expect(epochTime(1_764_470_400_999, 0.000_001)).toEqual([1_764_470_400, 999_000_001]);
    expect(epochTime(1_764_470_400_999, 1.5)).toEqual([1_764_470_401, 500_000]);
    expect(epochTime(0, 0.999_999_9999)).toEqual([0, 1_000_000]);
  });

  it("runs startActiveSpan's callback with the span active, as a child of the active one", async () => {
    const { tracer, ended } = await tracerWith();
    const manager = new SynchronousContextManager();
    context.setGlobalContextManager(manager);
    try {
      const parent = tracer.startSpan("parent");
      const seen = context.with(trace.setSpan(ROOT_CONTEXT, parent), () =>
        tracer.startActiveSpan("active", (span: Span) => {
          const active = trace.getActiveSpan();
          span.end();
          return active === span;
        }),
      );
      parent.end();
      expect(seen).toBe(true);
      expect(ended[0]?.parentSpanId).toBe(parent.spanContext().spanId);
    } finally {
      context.disable();
    }
  });
});

function sdk() {
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer(
    "sdk",
  );
  return { tracer, ended: () => exporter.getFinishedSpans() };
}

/** Nanoseconds since the epoch, exactly (as OTLP's fixed64 carries them). */
const ns = ([seconds, nanos]: readonly [number, number]): bigint =>
  BigInt(seconds) * 1_000_000_000n + BigInt(nanos);

/** A span's start, end and event times as epoch nanoseconds. */
function oursTimes(s: GatehouseSpan): bigint[] {
  return [
    ns(epochTime(s.baseMs, s.start)),
    ns(epochTime(s.baseMs, s.end_)),
    ...(s.events ?? []).map((e) => ns(epochTime(s.baseMs, e.time))),
  ];
}

function sdkTimes(s: ReadableSpan): bigint[] {
  return [ns(s.startTime), ns(s.endTime), ...s.events.map((e) => ns(e.time))];
}

/*
 * A span's times at their edges: times given by the caller in each form the API allows, compared
 * with the SDK's span to the nanosecond (OTLP's times are fixed64 nanoseconds); spans that stay open
 * while the time base moves on, for an hour, or across a step of the wall clock.
 */
describe("a span's times at their edges", () => {
  it("keeps times given as HrTime to the nanosecond, as the SDK's span does", async () => {
    const a = await tracerWith();
    const b = sdk();
    const cases: [HrTime, HrTime, HrTime][] = [
      [
        [1_764_470_400, 123_456_789],
        [1_764_470_400, 987_654_321],
        [1_764_470_400, 500_000_001],
      ],
      [
        [1_764_470_400, 999_999_999],
        [1_764_470_401, 1],
        [1_764_470_401, 0],
      ],
      [
        [1_764_470_400, 1],
        [1_764_474_000, 999_999_999], // an hour later
        [1_764_472_200, 333_333_333],
      ],
    ];
    for (const [start, event, end] of cases)
      for (const tracer of [a.tracer, b.tracer]) {
        const span = tracer.startSpan("hr", { startTime: start }, ROOT_CONTEXT);
        span.addEvent("e", event);
        span.end(end);
      }
    expect(a.ended.map(oursTimes)).toEqual(b.ended().map(sdkTimes));
    // And as given, which is what both should be.
    expect(a.ended.map(oursTimes)).toEqual(cases.map(([s, e, end]) => [ns(s), ns(end), ns(e)]));
  });

  it("keeps times given as a Date or as epoch milliseconds (fractions too) as the SDK's span does", async () => {
    const a = await tracerWith();
    const b = sdk();
    const { random } = seeded(0x1234567);
    const inputs: [TimeInput, TimeInput, TimeInput][] = [];
    const epoch = Date.now() + 86_400_000; // a day ahead: never read as a `performance.now()` time
    for (let i = 0; i < 500; i++) {
      const start = epoch + Math.floor(random() * 1e9) + (random() < 0.5 ? random() : 0);
      const end = start + random() * 5_000;
      const event = start + random() * 5_000;
      inputs.push(
        i % 3 === 0
          ? [new Date(Math.floor(start)), new Date(Math.floor(event)), new Date(Math.ceil(end))]
          : [start, event, end],
      );
    }
    for (const [start, event, end] of inputs)
      for (const tracer of [a.tracer, b.tracer]) {
        const span = tracer.startSpan("given", { startTime: start }, ROOT_CONTEXT);
        span.addEvent("e", event);
        span.end(end);
      }
    const theirs = b.ended().map(sdkTimes);
    const mine = a.ended.map(oursTimes);
    // Each time rounded to the nanosecond on its own, as the SDK rounds it: at most 1 ns apart.
    const apart = mine.flatMap((times, i) =>
      times.map((t, j) => {
        const d = t - (theirs[i]?.[j] ?? 0n);
        return d < 0n ? -d : d;
      }),
    );
    expect(apart.every((d) => d <= 1n)).toBe(true);
  });

  it("records an end given before the start as a zero-length span, in every form", async () => {
    const { tracer, ended } = await tracerWith();
    const start = Date.now() + 60_000;
    const ends: TimeInput[] = [
      new Date(start - 1),
      start - 0.000_5,
      [Math.floor(start / 1000) - 1, 0],
      performance.now() - 5_000, // a `performance.now()` time: seconds before the start
    ];
    for (const end of ends) tracer.startSpan("backwards", { startTime: start }, ROOT_CONTEXT).end(end);
    const now = tracer.startSpan("now", {}, ROOT_CONTEXT);
    now.end(performance.now() - 5_000);
    for (const s of ended) {
      const [from, to] = oursTimes(s);
      expect(to).toBe(from);
    }
  });

  it("keeps a span's duration exact while it stays open across base moves, an hour, and clock steps", async () => {
    const { tracer, ended } = await tracerWith();
    const clocks = controlledClocks(0);
    try {
      const hour = tracer.startSpan("hour", {}, ROOT_CONTEXT);
      const stepped = tracer.startSpan("stepped", {}, trace.setSpan(ROOT_CONTEXT, hour));
      // Spans started every 700 ms for an hour move the base on (by whole ms) many times.
      for (let t = 0; t < 3_600_000; t += 700) {
        clocks.advance(700.000_3);
        if (t === 1_400) clocks.time.wall -= 3_600_000; // the wall clock set an hour back
        if (t === 2_800_000) clocks.time.wall += 3_600_000 + 250.5; // and forward again, a little past
        tracer.startSpan("tick", {}, ROOT_CONTEXT).end();
      }
      stepped.end();
      hour.end();
    } finally {
      clocks.restore();
    }
    const [stepped, hour] = ended.filter((s) => s.name !== "tick") as [GatehouseSpan, GatehouseSpan];
    const steps = Math.ceil(3_600_000 / 700);
    const expected = BigInt(Math.round(steps * 700.000_3 * 1e6));
    for (const s of [hour, stepped]) {
      const [from = 0n, to = 0n] = oursTimes(s);
      // Exact to a few ns: the span's duration is `performance.now()`'s, whatever the wall clock did.
      const d = to - from - expected;
      expect(d < 0n ? -d : d).toBeLessThanOrEqual(2n);
    }
    // Every tick lasted 0 and started 700 ms after the one before it, except across the two steps of
    // the clock, which the next tick follows.
    const ticks = ended.filter((s) => s.name === "tick").map(oursTimes);
    const gaps: bigint[] = [];
    for (let i = 1; i < ticks.length; i++) {
      const [prev] = ticks[i - 1] as bigint[];
      const [from, to] = ticks[i] as bigint[];
      expect(to).toBe(from);
      const gap = (from as bigint) - (prev as bigint);
      if (gap < 699_000_000n || gap > 702_000_000n) gaps.push(gap);
    }
    expect(gaps).toHaveLength(2);
    expect(Number(gaps[0]) / 1e6).toBeCloseTo(700 - 3_600_000, -1);
    expect(Number(gaps[1]) / 1e6).toBeCloseTo(700 + 3_600_250.5, -1);
  });
});

/** A provider of Gatehouse's tracer whose spans are sampled by `root` (no parent-based sampling). */
function sampledBy(root: Sampler) {
  const ended: GatehouseSpan[] = [];
  const provider = new GatehouseTracerProvider({
    sink: {
      scope: (name) => name,
      onEnd: (span) => ended.push(span),
      forceFlush: async () => {},
      shutdown: async () => {},
    },
    sampling: { parentBased: false, root },
    limits: spanLimitsFromEnv({}),
  });
  return { tracer: provider.getTracer("sampled"), ended };
}

/*
 * What a span's context says at its edges: the same ids, flags and trace state every time it is
 * asked, before and after the span ends; a remote parent's trace state carried to its children and
 * a sampler's to the span it decided on; a span recorded but not sampled flagged as not sampled.
 */
describe("a span's context at its edges", () => {
  it("is the same every time it is asked, before and after the span ends, and valid", async () => {
    const { tracer } = await tracerWith();
    const state = new TraceState("vendor=a,other=b");
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
      traceState: state,
    });
    const span = tracer.startSpan("s", {}, parent);
    const first = span.spanContext();
    expect(trace.isSpanContextValid(first)).toBe(true);
    expect(first).toEqual({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: first.spanId,
      traceFlags: TraceFlags.SAMPLED,
      traceState: state,
    });
    expect(span.spanContext()).toEqual(first);
    span.end();
    expect(span.spanContext()).toEqual(first);
    // Its children, and theirs, carry the remote parent's trace state on.
    const child = tracer.startSpan("child", {}, trace.setSpan(ROOT_CONTEXT, span));
    const grandchild = tracer.startSpan("grandchild", {}, trace.setSpan(ROOT_CONTEXT, child));
    for (const s of [child, grandchild]) {
      expect(s.spanContext().traceState).toBe(state);
      expect(s.spanContext().traceId).toBe(first.traceId);
    }
    expect((grandchild as GatehouseSpan).parentSpanId).toBe(child.spanContext().spanId);
    expect((child as GatehouseSpan).parentIsRemote).toBe(false);
  });

  it("takes a sampler's trace state and flags: sampled, recorded only, or not recorded", () => {
    const decisions = [
      SamplingDecision.RECORD_AND_SAMPLED,
      SamplingDecision.RECORD,
      SamplingDecision.NOT_RECORD,
    ];
    let next = 0;
    const sampler: Sampler = {
      shouldSample: () => ({
        decision: decisions[next++ % 3] as SamplingDecision,
        traceState: new TraceState(`s=${next}`),
      }),
      toString: () => "test",
    };
    const { tracer, ended } = sampledBy(sampler);
    const spans = [0, 1, 2].map(() => tracer.startSpan("s", {}, ROOT_CONTEXT));
    expect(
      spans.map((s) => [s.isRecording(), s.spanContext().traceFlags, s.spanContext().traceState?.get("s")]),
    ).toEqual([
      [true, TraceFlags.SAMPLED, "1"],
      [true, TraceFlags.NONE, "2"],
      [false, TraceFlags.NONE, "3"],
    ]);
    for (const s of spans) {
      expect(trace.isSpanContextValid(s.spanContext())).toBe(true);
      s.end();
    }
    // Only the sampled one is exported.
    expect(ended).toEqual([spans[0]]);
  });
});

describe("a span's kind from untyped code", () => {
  it("does not make the span sampled, nor its parent remote, whatever number it is", () => {
    const recordOnly: Sampler = {
      shouldSample: () => ({ decision: SamplingDecision.RECORD }),
      toString: () => "record only",
    };
    const { tracer, ended } = sampledBy(recordOnly);
    const spans = [8, 16, 24, 31].map((kind) =>
      tracer.startSpan("s", { kind: kind as SpanKind }, ROOT_CONTEXT),
    );
    for (const s of spans) {
      expect(s.spanContext().traceFlags).toBe(TraceFlags.NONE);
      expect((s as GatehouseSpan).parentIsRemote).toBe(false);
      s.end();
    }
    expect(ended).toHaveLength(0);
  });
});

/*
 * Frozen attribute sets kept by reference, and sets that extend them (dispatch.invoke's first
 * attributes and then the same with the provider's name), under random calls: every span keeps what
 * the SDK's span keeps for the same calls, whatever other spans holding the same sets did.
 */
describe("shared attribute sets at their edges", () => {
  it("keeps what the SDK keeps when frozen sets, their extensions and single attributes are mixed", async () => {
    const { random, pick } = seeded(0x5eed1234);
    const keys = ["op", "model", "account", "provider", "status", "w0", "w1", "k2"];
    const values: AttributeValue[] = [
      "chat",
      "m",
      "acct",
      "openai",
      200,
      "x".repeat(9),
      true,
      ["a", "b"],
      Object.freeze(["c"]) as string[],
    ];
    // Sets hold no array a caller could still change (a set with one is copied: the last family).
    const setValues = values.filter((v) => !Array.isArray(v) || Object.isFrozen(v));
    const object = (n: number): Attributes => {
      const out: Attributes = {};
      for (let i = 0; i < n; i++) out[pick(keys.slice(0, 5))] = pick(setValues);
      return out;
    };
    // Families: a first set, sets that extend it, sets that extend those, and near misses (a value
    // changed, or the order changed).
    const families: Readonly<Attributes>[][] = [];
    for (let f = 0; f < 6; f++) {
      const first = Object.freeze({
        ...object(1 + Math.floor(random() * 3)),
        ...(f === 5 ? { open: ["a"] } : {}),
      });
      const wider = Object.freeze({ ...first, [`w${f}`]: pick(setValues) });
      const widest = Object.freeze({ ...wider, [`k${f}`]: f });
      const changed = Object.freeze({ ...first, [Object.keys(first)[0] as string]: "changed", tail: 1 });
      const reordered = Object.freeze(Object.fromEntries(Object.entries(wider).reverse()));
      families.push([first, wider, widest, changed, reordered]);
    }
    const sets = families.flat();
    let keptByReference = 0;
    let extended = 0;
    for (const countLimit of [128, 0, 1, 2, 3, 4, 5]) {
      const { tracer, ended } = await tracerWith({ OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: String(countLimit) });
      const exporter = new InMemorySpanExporter();
      const theirs = new BasicTracerProvider({
        spanLimits: { attributeCountLimit: countLimit },
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      }).getTracer("sdk");
      for (let i = 0; i < 400; i++) {
        // A call's sets mostly come from one family (dispatch.invoke's first set, then it extended).
        const family = pick(families);
        const start = random() < 0.7 ? (random() < 0.5 ? family[0] : pick(family)) : undefined;
        const options = start === undefined ? {} : { attributes: start };
        const pair = [
          tracer.startSpan("s", options, ROOT_CONTEXT),
          theirs.startSpan("s", options, ROOT_CONTEXT),
        ];
        for (let n = Math.floor(random() * 5); n > 0; n--) {
          const r = random();
          if (r < 0.6) {
            const more = random() < 0.8 ? pick(family) : pick(sets);
            const held = (pair[0] as GatehouseSpan).shared;
            for (const span of pair) span.setAttributes(more);
            if (held !== undefined && held !== more && (pair[0] as GatehouseSpan).shared === more) extended++;
          } else {
            const key = pick(keys);
            const value = pick(values);
            for (const span of pair) span.setAttribute(key, value);
          }
        }
        for (const span of pair) span.end();
      }
      const { ours, theirs: sdkSpans } = attributesOfBoth(ended, exporter);
      expect({ countLimit, spans: ours }).toEqual({ countLimit, spans: sdkSpans });
      keptByReference += ended.filter((span) => span.shared !== undefined).length;
    }
    expect(keptByReference).toBeGreaterThan(100);
    // Sets put in place of the one a span held (extensions of it).
    expect(extended).toBeGreaterThan(50);
  });

  it("keeps its own copy of an array value, as the SDK's span: the caller changing its array later changes nothing", async () => {
    const { tracer, ended } = await tracerWith();
    const b = sdk();
    const given = {
      set: ["stop"],
      plain: ["p"],
      frozenSet: ["f"],
      start: ["s"],
      frozenStart: ["fs"],
      event: ["e"],
    };
    const frozenSet = Object.freeze({ frozenSet: given.frozenSet });
    const frozenStart = Object.freeze({ frozenStart: given.frozenStart });
    for (const t of [tracer, b.tracer]) {
      const one = t.startSpan("one", { attributes: { start: given.start } }, ROOT_CONTEXT);
      one.setAttribute("set", given.set);
      one.setAttributes({ plain: given.plain });
      one.addEvent("e", { event: given.event });
      const two = t.startSpan("two", { attributes: frozenStart }, ROOT_CONTEXT);
      const three = t.startSpan("three", {}, ROOT_CONTEXT);
      three.setAttributes(frozenSet);
      for (const s of [one, two, three]) s.end();
    }
    // After the spans ended and before they are exported (a batch waits up to its delay).
    for (const array of Object.values(given)) array.push("later", { not: "an attribute value" } as never);
    const theirs = b.ended().map((s) => [s.attributes, s.events.map((e) => e.attributes)]);
    expect(theirs).toEqual([
      [{ start: ["s"], set: ["stop"], plain: ["p"] }, [{ event: ["e"] }]],
      [{ frozenStart: ["fs"] }, []],
      [{ frozenSet: ["f"] }, []],
    ]);
    expect(ended.map((s) => [attributesOf(s), (s.events ?? []).map((e) => e.attributes)])).toEqual(theirs);
  });

  it("leaves every other span holding a set as it was when one of them sets more, or sets one of its keys again", async () => {
    const { tracer, ended } = await tracerWith();
    const first = Object.freeze({ op: "chat", model: "m" });
    const wider = Object.freeze({ ...first, provider: "openai" });
    const spans = Array.from({ length: 4 }, () => tracer.startSpan("s", { attributes: first }, ROOT_CONTEXT));
    const [a, b, c, d] = spans as [Span, Span, Span, Span];
    for (const s of [b, c, d]) s.setAttributes(wider);
    b.setAttribute("status", 200);
    c.setAttribute("provider", "anthropic");
    d.setAttribute("op", "embeddings");
    a.setAttribute("model", "other");
    for (const s of spans) s.end();
    expect(ended.map((s) => attributesOf(s))).toEqual([
      { op: "chat", model: "other" },
      { op: "chat", model: "m", provider: "openai", status: 200 },
      { op: "chat", model: "m", provider: "anthropic" },
      { op: "embeddings", model: "m", provider: "openai" },
    ]);
    expect(first).toEqual({ op: "chat", model: "m" });
    expect(wider).toEqual({ op: "chat", model: "m", provider: "openai" });
  });
});
