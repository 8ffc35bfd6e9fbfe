import autocannon from "autocannon";
import { Pool } from "undici";
import { chatBody, type ModelKind, type Target } from "./targets.js";

/** One measurement of one target: counts, and every response's latency in ms (sub-ms precision). */
export interface LoadSample {
  requests: number;
  durationS: number;
  latenciesMs: number[];
  non2xx: number;
  errors: number;
  timeouts: number;
}

/**
 * autocannon drives the load; its own histogram keeps whole milliseconds, so latencies are taken
 * from its per-response event (hrtime, fractional ms) instead — the figures at concurrency 1 are
 * fractions of a millisecond.
 */
export function runAutocannon(
  target: Target,
  connections: number,
  durationS: number,
  kind: ModelKind = "small",
  /** Requests per second over all connections (autocannon's `overallRate`); as fast as answered when unset. */
  overallRate?: number,
): Promise<LoadSample> {
  const latenciesMs: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: "POST",
        headers: target.headers,
        body: (target.body ?? chatBody)(target.model(kind), false),
        connections,
        pipelining: 1,
        duration: durationS,
        timeout: 10,
        ...(overallRate === undefined ? {} : { overallRate }),
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) return reject(err);
        resolve({
          requests: result.requests.total,
          durationS: result.duration,
          latenciesMs,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
        });
      },
    );
    instance.on("response", (_client, _status, _bytes, responseTime) => {
      latenciesMs.push(responseTime);
    });
  });
}

export interface StreamSample {
  ttfbMs: number[];
  totalMs: number[];
  /** Time from the first to the last body byte: about (chunks−1)×delay when nothing is held back. */
  spreadMs: number[];
  /** SSE events received per stream (the mock sends chunks + `[DONE]`, + a usage event if asked). */
  events: number[];
  non2xx: number;
  errors: number;
  /** The first failure, for the report. */
  firstError: string | undefined;
}

/** One streaming request to the target's endpoint over `pool`. */
export function postStream(pool: Pool, target: Target, body: string, timeoutMs: number) {
  return pool.request({
    path: new URL(target.url).pathname,
    method: "POST",
    headers: target.headers,
    body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

/** N sequential streaming requests over one keep-alive connection, timed with undici. */
export async function runStreams(target: Target, kind: ModelKind, count: number): Promise<StreamSample> {
  const url = new URL(target.url);
  const pool = new Pool(url.origin, { connections: 1, pipelining: 1 });
  const sample: StreamSample = {
    ttfbMs: [],
    totalMs: [],
    spreadMs: [],
    events: [],
    non2xx: 0,
    errors: 0,
    firstError: undefined,
  };
  const body = (target.body ?? chatBody)(target.model(kind), true);
  try {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      let first = -1;
      let last = -1;
      let events = 0;
      let text = "";
      try {
        const res = await postStream(pool, target, body, 10_000);
        for await (const part of res.body) {
          const now = performance.now();
          if (first < 0) first = now;
          last = now;
          // Keep the previous part's last character so a "\n\n" split across reads still counts.
          const chunk = text.slice(-1) + (part as Buffer).toString("latin1");
          for (let at = chunk.indexOf("\n\n"); at >= 0; at = chunk.indexOf("\n\n", at + 2)) events++;
          text = res.statusCode >= 300 ? (text + chunk).slice(-300) : chunk;
        }
        if (res.statusCode < 200 || res.statusCode >= 300) {
          sample.non2xx++;
          sample.firstError ??= `HTTP ${res.statusCode} ${text.trim().slice(0, 200)}`;
          continue;
        }
      } catch (err) {
        sample.errors++;
        sample.firstError ??= (err as Error).message;
        continue;
      }
      sample.ttfbMs.push(first - started);
      sample.totalMs.push(last - started);
      sample.spreadMs.push(last - first);
      sample.events.push(events);
    }
  } finally {
    await pool.close();
  }
  return sample;
}
