#!/usr/bin/env node
/**
 * `pnpm bench:micro`: the hot path's Server-Sent Events parser, and Standard Webhooks signing, in
 * one process with no I/O, so small differences show.
 *
 *   pnpm bench:micro -- [--base=DIR] [--rounds=N] [--no-write]
 *
 * SSE: `SseParser` of this checkout (B) against `--base`'s (A; another checkout, built; default
 * this one, an A/A run that shows the noise), each parsing the same upstream streams, measured in
 * A B B A order every round. Webhooks: a Standard Webhooks signature with the `standardwebhooks`
 * package (what auth uses) and with node:crypto's HMAC, for a small and the largest inbound body.
 * Prints a table and writes it to docs/benchmarks.md between the `bench:micro` markers.
 */
import { createHmac, randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Webhook } from "standardwebhooks";
import { boundedInt, option } from "./cli.js";
import { REPO_ROOT } from "./gatehouse.js";
import { count, table, writeResults } from "./report.js";

interface Parser {
  push(bytes: Uint8Array): unknown[];
  end(): unknown[];
}
type ParserClass = new () => Parser;

async function parserOf(checkout: string): Promise<ParserClass> {
  const url = pathToFileURL(resolve(checkout, "packages/providers/dist/sse.js")).href;
  return ((await import(url)) as { SseParser: ParserClass }).SseParser;
}

const encoder = new TextEncoder();

function openAIChunk(i: number): string {
  const delta = { content: `token ${i} of the answer, with a little text` };
  return JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [{ index: 0, delta, finish_reason: null }],
  });
}

/** Cut a stream's bytes into reads of `size` bytes, as a socket might deliver them. */
function reads(text: string, size: number): Uint8Array[] {
  const bytes = encoder.encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

interface Workload {
  name: string;
  events: number;
  reads: Uint8Array[];
}

const EVENTS = 200;
const openAI = Array.from({ length: EVENTS }, (_, i) => `data: ${openAIChunk(i)}\n\n`);
const anthropic = Array.from(
  { length: EVENTS },
  (_, i) =>
    `event: content_block_delta\r\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"token ${i} of the answer"}}\r\n\r\n`,
);
const WORKLOADS: Workload[] = [
  { name: "OpenAI chunks, one event a read", events: EVENTS, reads: openAI.map((e) => encoder.encode(e)) },
  { name: "OpenAI chunks, 4 KiB reads", events: EVENTS, reads: reads(openAI.join(""), 4096) },
  { name: "OpenAI chunks, 7-byte reads", events: EVENTS, reads: reads(openAI.join(""), 7) },
  {
    name: "Anthropic events (CRLF), one a read",
    events: EVENTS,
    reads: anthropic.map((e) => encoder.encode(e)),
  },
];

/** Nanoseconds per event for parsing the workload `times` times over. */
function measure(Parser: ParserClass, w: Workload, times: number): number {
  let seen = 0;
  const t = process.hrtime.bigint();
  for (let n = 0; n < times; n++) {
    const parser = new Parser();
    for (const r of w.reads) seen += parser.push(r).length;
    seen += parser.end().length;
  }
  const ns = Number(process.hrtime.bigint() - t);
  if (seen !== w.events * times)
    throw new Error(`${w.name}: parsed ${seen} events, expected ${w.events * times}`);
  return ns / seen;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** Microseconds per call of `fn`, the median of `rounds` timed batches. */
function perCall(fn: () => unknown, batch: number, rounds: number): number {
  for (let i = 0; i < batch; i++) fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1000 / batch);
  }
  return median(samples);
}

async function main(): Promise<void> {
  const base = option("base", "");
  const rounds = boundedInt("rounds", 10, 2, 1000);
  const A = await parserOf(base ? resolve(process.cwd(), base) : REPO_ROOT);
  const B = await parserOf(REPO_ROOT);
  const times = 200;
  const sseRows: string[][] = [];
  for (const w of WORKLOADS) {
    for (let i = 0; i < 3; i++) {
      measure(A, w, times);
      measure(B, w, times);
    }
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? [A, B, B, A] : [B, A, A, B];
      for (const P of order) (P === A ? a : b).push(measure(P, w, times));
    }
    const [ma, mb] = [median(a), median(b)];
    sseRows.push([w.name, ma.toFixed(0), mb.toFixed(0), `${(((mb - ma) / ma) * 100).toFixed(1)} %`]);
  }

  const secret = `whsec_${randomBytes(32).toString("base64")}`;
  const key = Buffer.from(secret.slice("whsec_".length), "base64");
  const now = new Date();
  const hookRows: string[][] = [];
  for (const size of [1024, 64 * 1024]) {
    const body = Buffer.alloc(size, "x");
    const batch = size > 4096 ? 100 : 5_000;
    const pkg = perCall(() => new Webhook(secret).sign("msg_1", now, body), batch, rounds);
    const native = perCall(
      () => createHmac("sha256", key).update("msg_1.1700000000.").update(body).digest("base64"),
      batch,
      rounds,
    );
    hookRows.push([`${size / 1024} KiB body`, pkg.toFixed(1), native.toFixed(1)]);
  }

  const text = [
    `Command: \`pnpm bench:micro${base ? ` -- --base=${base}` : ""}\`, ${count(rounds, "round")}, Node ${process.version}.`,
    "",
    `SSE parsing, ns per event (median of ${rounds * 2} measurements of ${times} streams each; A: ${base || "this checkout"}, B: this checkout):`,
    "",
    table(["stream", "A", "B", "B − A"], sseRows),
    "",
    "A Standard Webhooks signature, µs per signature (median):",
    "",
    table(["payload", "standardwebhooks", "node:crypto"], hookRows),
  ].join("\n");
  process.stdout.write(`${text}\n`);
  if (!process.argv.includes("--no-write")) {
    writeResults(resolve(REPO_ROOT, "docs/benchmarks.md"), "bench:micro", text);
  }
}

await main();
