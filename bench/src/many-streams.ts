import { Pool } from "undici";
import { postStream } from "./load.js";
import { sampleProc } from "./proc.js";
import { chatBody, type Target } from "./targets.js";

/**
 * Many streams at once: `count` streaming calls started together, each on its own connection, each
 * 20 chunks 5 ms apart (the `ttfb` model). A stream counts as good only when it answered 2xx and
 * ended with `data: [DONE]` after every chunk; anything else (status, socket error, timeout, a
 * stream cut short) is an error. The target's processes are sampled every 100 ms for peak RSS.
 */

/** SSE bookkeeping over a byte stream: events seen, and whether `data: [DONE]` ended it. */
export class SseTally {
  events = 0;
  done = false;
  private tail = "";

  push(part: string): void {
    // Keep the end of the previous part so a "\n\n" or a "[DONE]" split across reads still counts.
    const text = this.tail + part;
    for (let at = text.indexOf("\n\n"); at >= 0; at = text.indexOf("\n\n", at + 2)) {
      if (at + 2 > this.tail.length) this.events++;
    }
    if (text.includes("data: [DONE]")) this.done = true;
    this.tail = text.slice(-16);
  }
}

export interface ManyStreamsSample {
  count: number;
  ttfbMs: number[];
  totalMs: number[];
  errors: number;
  /** The first failures by kind, for the report. */
  failures: Map<string, number>;
  /** Highest RSS seen per process during the run (sampled every 100 ms), KB. */
  peakRssKb: Map<number, number>;
  wallMs: number;
}

/** Chunks the `ttfb` model streams; a stream with fewer events than this + [DONE] is cut short. */
export const TTFB_MODEL_CHUNKS = 20;

function emptySample(count: number): ManyStreamsSample {
  return { count, ttfbMs: [], totalMs: [], errors: 0, failures: new Map(), peakRssKb: new Map(), wallMs: 0 };
}

/** The `code` of an OpenAI- or Anthropic-shaped error body (`{"error":{"code":…}}`), else "". */
export function errorCode(body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown; type?: unknown } }).error;
    const code = error?.code ?? error?.type;
    return typeof code === "string" ? code : "";
  } catch {
    return "";
  }
}

/** How a failure is named in the report: the HTTP status, or the error's code or message. */
export function failureKind(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === "string") return e.code;
  return typeof e?.message === "string" ? e.message.slice(0, 80) : String(err).slice(0, 80);
}

export async function runManyStreams(
  target: Target,
  count: number,
  timeoutMs = 60_000,
): Promise<ManyStreamsSample> {
  const url = new URL(target.url);
  const pool = new Pool(url.origin, { connections: count, pipelining: 1 });
  const body = (target.body ?? chatBody)(target.model("ttfb"), true);
  const sample = emptySample(count);
  const fail = (kind: string) => {
    sample.errors++;
    sample.failures.set(kind, (sample.failures.get(kind) ?? 0) + 1);
  };
  const watch = () => {
    for (const p of target.processes) {
      const rss = sampleProc(p.pid)?.rssKb ?? 0;
      sample.peakRssKb.set(p.pid, Math.max(sample.peakRssKb.get(p.pid) ?? 0, rss));
    }
  };
  watch();
  const timer = setInterval(watch, 100);
  const one = async () => {
    const started = performance.now();
    let first = -1;
    const tally = new SseTally();
    try {
      const res = await postStream(pool, target, body, timeoutMs);
      let errorBody = "";
      for await (const part of res.body) {
        if (first < 0) first = performance.now();
        const text = (part as Buffer).toString("latin1");
        tally.push(text);
        if (res.statusCode >= 300 && errorBody.length < 2_000) errorBody += text;
      }
      if (res.statusCode < 200 || res.statusCode >= 300) {
        return fail(`HTTP ${res.statusCode} ${errorCode(errorBody)}`.trim());
      }
      if (!tally.done || tally.events < TTFB_MODEL_CHUNKS + 1) return fail("stream cut short");
      sample.ttfbMs.push(first - started);
      sample.totalMs.push(performance.now() - started);
    } catch (err) {
      fail(failureKind(err));
    }
  };
  const started = performance.now();
  try {
    await Promise.all(Array.from({ length: count }, one));
  } finally {
    sample.wallMs = performance.now() - started;
    clearInterval(timer);
    watch();
    await pool.destroy();
  }
  return sample;
}

/** Every round's sample of one target, pooled for the report. */
export function poolManyStreams(samples: readonly ManyStreamsSample[]): ManyStreamsSample | undefined {
  if (samples.length === 0) return undefined;
  const pooled = emptySample(0);
  for (const s of samples) {
    pooled.count += s.count;
    pooled.ttfbMs.push(...s.ttfbMs);
    pooled.totalMs.push(...s.totalMs);
    pooled.errors += s.errors;
    for (const [kind, n] of s.failures) pooled.failures.set(kind, (pooled.failures.get(kind) ?? 0) + n);
    for (const [pid, kb] of s.peakRssKb)
      pooled.peakRssKb.set(pid, Math.max(pooled.peakRssKb.get(pid) ?? 0, kb));
    pooled.wallMs = Math.max(pooled.wallMs, s.wallMs);
  }
  return pooled;
}
