import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger, fixedLine, isoTime } from "./logger.js";

/** drizzle-orm's DrizzleQueryError, as 0.45 builds it (kit does not depend on drizzle). */
class DrizzleQueryError extends Error {
  constructor(
    readonly query: string,
    readonly params: unknown[],
    cause: Error,
  ) {
    super(`Failed query: ${query}\nparams: ${params}`);
    this.cause = cause;
  }
}

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    logger: createLogger({ level: "info", service: "test", destination }),
    text: () => lines.join(""),
  };
}

describe("logging a database error", () => {
  it("keeps the query and the reason, never the bound values", () => {
    const { logger, text } = capture();
    const pg = Object.assign(new Error('new row for relation "responses" violates check constraint'), {
      severity: "ERROR",
      code: "23514",
      detail: "Failing row contains (resp_1, the launch codes are 0000).",
    });
    const err = new DrizzleQueryError(
      'insert into "dispatch"."responses" ("id", "input") values ($1, $2)',
      ["resp_1", '[{"content":"the launch codes are 0000"}]'],
      pg,
    );
    logger.warn({ err }, "could not record a response's owner");
    const line = text();
    expect(line).toContain('insert into \\"dispatch\\".\\"responses\\"');
    expect(line).toContain("violates check constraint");
    expect(line).not.toContain("launch codes");
  });

  it("leaves other errors as they were", () => {
    const { logger, text } = capture();
    logger.error({ err: Object.assign(new Error("boom"), { detail: "why it went boom" }) }, "failed");
    expect(text()).toContain("why it went boom");
  });
});

describe("a fixed line", () => {
  const write = fixedLine<{ reqId: string; status: number; route: string | null; ok: boolean }>("request");

  it("is the line logger[level](values, msg) writes: level, time, bindings, fields, message", () => {
    const { logger, text } = capture();
    const values = { reqId: 'a"b\n\u2028', status: 200, route: null, ok: true };
    logger.info(values, "request");
    write(logger, "info", values);
    const [viaPino, fixed] = text()
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(fixed).toEqual({ ...viaPino, time: expect.any(String) });
    expect(Object.keys(fixed as object)).toEqual(Object.keys(viaPino as object));
    expect(Number.isNaN(Date.parse(String(fixed?.time)))).toBe(false);
  });

  it("is written only at an enabled level, with that level's number", () => {
    const { logger, text } = capture();
    write(logger, "debug", { reqId: "skipped", status: 200, route: null, ok: true });
    write(logger, "warn", { reqId: "kept", status: 200, route: null, ok: true });
    const lines = text().trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 40, reqId: "kept" });
  });
});

describe("a fixed line with hostile values", () => {
  const write = fixedLine<{ model: string; route: string; n: number }>("request");

  it("stays one JSON line with the values as given: no field, level or line can be forged", () => {
    const { logger, text } = capture();
    const hostile = [
      '","level":60,"msg":"forged',
      'quote " backslash \\ end',
      'line\nbreak\r\n{"level":60}',
      "controls \u0000\u0001\u0007\u001b[31m\u007f",
      "separators \u2028\u2029",
      "lone surrogates \ud800 \udfff",
      "unicode é ☃ 🦀",
    ];
    for (const model of hostile) write(logger, "info", { model, route: model, n: 1 });
    const lines = text().split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(hostile.length);
    lines.forEach((line, i) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(parsed)).toEqual(["level", "time", "service", "model", "route", "n", "msg"]);
      expect(parsed).toMatchObject({ level: 30, msg: "request", model: hostile[i], route: hostile[i], n: 1 });
      // Nothing a terminal or a line-based reader would act on is written raw.
      expect([...line].filter((c) => c.charCodeAt(0) < 0x20)).toEqual([]);
    });
  });
});

describe("the time of a line", () => {
  it("is toISOString's, within a second, across seconds and when the clock goes back", () => {
    const base = Date.UTC(2026, 10, 30, 23, 59, 58, 0);
    const times = [0, 7, 42, 999, 1000, 1001, 1999, 2000, 2345, 1234, -58_000, 86_400_000 + 5].map(
      (d) => base + d,
    );
    for (const t of times) expect(isoTime(t)).toBe(`,"time":"${new Date(t).toISOString()}"`);
  });

  it("is what lines carry", () => {
    const { logger, text } = capture();
    const before = Date.now();
    logger.info("now");
    const time = Date.parse(String((JSON.parse(text()) as { time: string }).time));
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
  });
});
