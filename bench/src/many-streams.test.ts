import { describe, expect, it } from "vitest";
import { errorCode, failureKind, type ManyStreamsSample, poolManyStreams, SseTally } from "./many-streams.js";

describe("SseTally", () => {
  it("counts each event once however the bytes are split, and sees [DONE] split across reads", () => {
    const text = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    for (let size = 1; size <= text.length; size++) {
      const tally = new SseTally();
      for (let at = 0; at < text.length; at += size) tally.push(text.slice(at, at + size));
      expect({ size, events: tally.events, done: tally.done }).toEqual({ size, events: 3, done: true });
    }
  });

  it("does not call a stream without [DONE] finished", () => {
    const tally = new SseTally();
    tally.push('data: {"a":1}\n\n');
    expect(tally.done).toBe(false);
    expect(tally.events).toBe(1);
  });
});

describe("failureKind", () => {
  it("names an error by its code, else its message", () => {
    expect(failureKind(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe("ECONNRESET");
    expect(failureKind(new Error("socket hang up"))).toBe("socket hang up");
    expect(failureKind("odd")).toBe("odd");
  });
});

describe("poolManyStreams", () => {
  const sample = (errors: number, peak: number, failure?: string): ManyStreamsSample => ({
    count: 10,
    ttfbMs: Array(10 - errors).fill(5),
    totalMs: Array(10 - errors).fill(100),
    errors,
    failures: new Map(failure ? [[failure, errors]] : []),
    peakRssKb: new Map([[42, peak]]),
    wallMs: peak,
  });

  it("adds counts and failures, and keeps each process's highest peak", () => {
    const pooled = poolManyStreams([
      sample(0, 300),
      sample(2, 200, "ECONNRESET"),
      sample(1, 250, "ECONNRESET"),
    ]);
    expect(pooled?.count).toBe(30);
    expect(pooled?.errors).toBe(3);
    expect(pooled?.ttfbMs).toHaveLength(27);
    expect(pooled?.failures.get("ECONNRESET")).toBe(3);
    expect(pooled?.peakRssKb.get(42)).toBe(300);
  });

  it("has nothing to pool without samples", () => {
    expect(poolManyStreams([])).toBeUndefined();
  });
});

describe("errorCode", () => {
  it("reads the code of an error body, else its type, else nothing", () => {
    expect(errorCode('{"error":{"message":"m","type":"timeout_error","code":"service_timeout"}}')).toBe(
      "service_timeout",
    );
    expect(errorCode('{"type":"error","error":{"type":"overloaded_error","message":"m"}}')).toBe(
      "overloaded_error",
    );
    expect(errorCode("<html>")).toBe("");
  });
});
