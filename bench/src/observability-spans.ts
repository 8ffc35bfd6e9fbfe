#!/usr/bin/env node
/**
 * `pnpm bench:observability -- --spans`: what tracing's own work costs per call, without the
 * gateway around it. One call is what a warm chat call does for its trace: ingress's server span from
 * the (absent) `traceparent`, its context carried to dispatch as `InvokeMeta.trace`, `dispatch.invoke`
 * and the upstream `POST` span with their attributes, all three ended and exported as OTLP/protobuf
 * to the sink process (otlp-sink-main.ts). Each variant runs in a process of its own, alternating:
 * - `off`: no SDK (the API's no-ops): the floor;
 * - `sdk`: the SDK's stock path (BatchSpanProcessor + OTLPTraceExporter, protobuf), as before;
 * - `gatehouse`: what `startTelemetry` sets up (Gatehouse's own tracer, tracer.ts, and OtlpSpanProcessor).
 * Every call also allocates the same short-lived garbage (a stand-in for a request's own), so that
 * spans held by a processor meet the young-generation collections they would meet in the gateway,
 * and a call's spans stay open for a few turns of the event loop (OPEN_TURNS) before they end, as the
 * gateway's do while the upstream answers: spans that live that long cost more than ones ended at once.
 * The figure is the process's CPU time (user + system, all threads: GC's included) per call.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from "@opentelemetry/api";

const CALLS_PER_TURN = 64;
/** Turns of the event loop a call's spans stay open (at c=64 a gateway call spans several). */
const OPEN_TURNS = 4;

interface VariantResult {
  variant: string;
  calls: number;
  cpuUs: number;
  wallMs: number;
}

async function setUp(variant: string, endpoint: string): Promise<() => Promise<void>> {
  if (variant === "off") return async () => {};
  if (variant === "gatehouse") {
    const { startTelemetry } = await import("@gatehouse/kit");
    const telemetry = await startTelemetry({ serviceName: "gatehouse-bench", otlpEndpoint: endpoint });
    return () => telemetry.shutdown();
  }
  const [
    { BasicTracerProvider, BatchSpanProcessor },
    { OTLPTraceExporter },
    { W3CTraceContextPropagator },
    kit,
  ] = await Promise.all([
    import("@opentelemetry/sdk-trace-base"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("@opentelemetry/core"),
    import("@gatehouse/kit"),
  ]);
  const provider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }))],
  });
  context.setGlobalContextManager(new kit.SynchronousContextManager());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return () => provider.shutdown();
}

/** What the stand-in garbage added up to (kept so that the work cannot be optimized away). */
let ballastBytes = 0;
// As the gateway's modules hold them: proxies, looked up once.
const ingressTracer = trace.getTracer("gatehouse-ingress");
const busTracer = trace.getTracer("gatehouse-bus");
const providersTracer = trace.getTracer("gatehouse-providers");

/** A call whose spans are started and not yet ended (the gateway keeps them open while it waits). */
interface OpenCall {
  server: Span;
  invoke: Span;
  client: Span;
}

/** One warm call's tracing, as ingress, dispatch and the provider transport do it: its spans started. */
function startCall(i: number): OpenCall {
  const headers: Record<string, string> = { host: "127.0.0.1", "content-type": "application/json" };
  const parent = propagation.extract(ROOT_CONTEXT, headers);
  const server = ingressTracer.startSpan(
    "POST /v1/chat/completions",
    {
      kind: SpanKind.SERVER,
      attributes: {
        "http.request.method": "POST",
        "http.route": "/v1/chat/completions",
        "gatehouse.request_id": `req-${i}-0123456789abcdef`,
      },
    },
    parent,
  );
  const serverContext: Context = trace.setSpan(parent, server);
  const carrier: Record<string, string> = {};
  propagation.inject(serverContext, carrier);
  const invokeParent = propagation.extract(ROOT_CONTEXT, carrier);
  const invoke = busTracer.startSpan(
    "dispatch.invoke",
    {
      attributes: {
        "gen_ai.operation.name": "chat",
        "gatehouse.stream": false,
        "gen_ai.request.model": "echo",
        "gatehouse.account": "mock-main",
      },
    },
    invokeParent,
  );
  const invokeContext = trace.setSpan(invokeParent, invoke);
  const client: Span = providersTracer.startSpan(
    "POST",
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "http.request.method": "POST",
        "server.address": "127.0.0.1",
        "server.port": 40123,
        "url.scheme": "http",
        "url.path": "/v1/chat/completions",
      },
    },
    invokeContext,
  );
  return { server, invoke, client };
}

/** The call answered: the attributes its outcome adds, and its spans ended, innermost first. */
function endCall({ server, invoke, client }: OpenCall): void {
  client.setAttribute("http.response.status_code", 200);
  client.setAttribute("gatehouse.upstream.time_to_first_byte_ms", 1.234);
  client.end();
  invoke.setAttribute("gen_ai.provider.name", "gatehouse.mock");
  invoke.setAttribute("gen_ai.response.model", "echo");
  invoke.setAttribute("gen_ai.response.finish_reasons", ["stop"]);
  invoke.setAttribute("gen_ai.usage.input_tokens", 12);
  invoke.setAttribute("gen_ai.usage.output_tokens", 9);
  invoke.setAttribute("http.response.status_code", 200);
  invoke.end();
  server.setAttribute("gatehouse.principal.id", "0b9f3c2e-5d7a-4f1e-9c3b-2a1d4e5f6a7b");
  server.setAttribute("gatehouse.principal.kind", "virtual_account");
  server.setAttribute("gatehouse.account", "mock-main");
  server.setAttribute("gen_ai.request.model", "echo");
  server.setAttribute("http.response.status_code", 200);
  server.end();
}

/** The request's own garbage: ~16 KB of short-lived objects and strings. */
function ballast(i: number): void {
  const items: { id: number; name: string; values: number[] }[] = [];
  for (let k = 0; k < 64; k++) items.push({ id: k, name: `item-${i}-${k}`, values: [k, k + 1, k + 2] });
  ballastBytes += JSON.stringify(items).length;
}

async function runVariant(variant: string, endpoint: string, calls: number): Promise<VariantResult> {
  const shutdown = await setUp(variant, endpoint);
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  // Calls in flight: each is ended OPEN_TURNS turns after it started, as the gateway's spans stay
  // open across the upstream round trip (and young-generation collections) rather than ending at once.
  const open: OpenCall[][] = [];
  let batch: OpenCall[] = [];
  const run = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      ballast(i);
      batch.push(startCall(i));
      if (batch.length < CALLS_PER_TURN) continue;
      open.push(batch);
      batch = [];
      if (open.length > OPEN_TURNS) for (const call of open.shift() ?? []) endCall(call);
      await turn();
    }
    for (const call of [...open.flat(), ...batch]) endCall(call);
    open.length = 0;
    batch = [];
  };
  // Warm up: JIT, pools, the exporter's connection.
  await run(0, Math.min(20_000, calls / 2));
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(0, calls);
  await shutdown();
  const used = process.cpuUsage(cpu);
  return { variant, calls, cpuUs: used.user + used.system, wallMs: performance.now() - started };
}

function runChild(variant: string, endpoint: string, calls: number): Promise<VariantResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), `--child=${variant}`, `--endpoint=${endpoint}`, `--calls=${calls}`],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`${variant}: exited with ${code}`));
      else resolve(JSON.parse(out) as VariantResult);
    });
  });
}

export interface SpansResult {
  rows: { variant: string; cpuUsPerCall: number[] }[];
  calls: number;
}

/** Alternates the variants (A B C C B A) `rounds` times; CPU µs per call of each run. */
export async function measureSpans(options: {
  endpoint: string;
  rounds: number;
  calls: number;
  log: (line: string) => void;
}): Promise<SpansResult> {
  const variants = ["off", "sdk", "gatehouse"];
  const per = new Map(variants.map((v) => [v, [] as number[]]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const v of [...variants, ...[...variants].reverse()]) {
      const r = await runChild(v, options.endpoint, options.calls);
      const us = r.cpuUs / r.calls;
      per.get(v)?.push(us);
      options.log(`spans round ${round}/${options.rounds}: ${v} ${us.toFixed(2)} µs CPU per call`);
    }
  }
  return {
    rows: variants.map((variant) => ({ variant, cpuUsPerCall: per.get(variant) ?? [] })),
    calls: options.calls,
  };
}

export function renderSpans(r: SpansResult): string {
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
  };
  const off = median(r.rows.find((x) => x.variant === "off")?.cpuUsPerCall ?? []);
  const label: Record<string, string> = {
    off: "no SDK (the API's no-ops)",
    sdk: "SDK stock: BatchSpanProcessor + OTLPTraceExporter (protobuf)",
    gatehouse: "Gatehouse: its own tracer + OtlpSpanProcessor (startTelemetry)",
  };
  const lines = [
    `| tracing of one warm call (3 spans, ${r.calls} calls a run) | CPU µs per call (median) | over no SDK | each run |`,
    "|---|--:|--:|--:|",
  ];
  for (const row of r.rows) {
    const m = median(row.cpuUsPerCall);
    lines.push(
      `| ${label[row.variant] ?? row.variant} | ${m.toFixed(1)} | ${row.variant === "off" ? "—" : (m - off).toFixed(1)} | ${row.cpuUsPerCall.map((v) => v.toFixed(1)).join(" / ")} |`,
    );
  }
  return lines.join("\n");
}

const childArg = process.argv.find((a) => a.startsWith("--child="));
if (childArg) {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? "";
  const result = await runVariant(childArg.slice("--child=".length), arg("endpoint"), Number(arg("calls")));
  process.stdout.write(JSON.stringify({ ...result, ballastBytes }));
  process.exit(0);
}
