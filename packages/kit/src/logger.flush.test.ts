import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, fixedLine, STDOUT_BUFFER_BYTES } from "./logger.js";

/**
 * The stdout buffer's timer (`LOG_FLUSH_MS`) writes what waits; an idle gateway must not write at
 * all. The stdout stream writes through `fs.write` on fd 1: here those writes are taken (and
 * reported as done) instead of reaching the test runner's stdout. Its own file: the first stdout
 * logger of a module instance sets the buffer for all.
 */
/** The fs module object sonic-boom calls `write` on (an ESM namespace could not be patched). */
const fs = createRequire(import.meta.url)("node:fs") as typeof import("node:fs");
const real = fs.write;
afterEach(() => {
  fs.write = real;
});

function takeStdoutWrites(): string[] {
  const writes: string[] = [];
  fs.write = ((fd: number, data: unknown, ...rest: unknown[]) => {
    if (fd !== 1) return (real as (...args: unknown[]) => void)(fd, data, ...rest);
    const done = rest.at(-1) as (err: Error | null, written: number) => void;
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : String(data);
    writes.push(text);
    setImmediate(() => done(null, Buffer.byteLength(text)));
  }) as typeof fs.write;
  return writes;
}

describe("the stdout buffer's timer", () => {
  it("writes a waiting line, then nothing while nothing is logged (no empty write each tick)", async () => {
    const writes = takeStdoutWrites();
    const logger = createLogger({ level: "info", service: "idle", flushMs: 5 });
    logger.info("the only line");
    for (let i = 0; i < 400 && !writes.some((w) => w.includes("the only line")); i++) await sleep(5);
    expect(writes.filter((w) => w.includes("the only line"))).toHaveLength(1);

    const after = writes.length;
    // Forty ticks of an idle process.
    await sleep(200);
    expect(writes.slice(after)).toEqual([]);
  });
});

describe("the stdout buffer", () => {
  it("sends lines of up to STDOUT_BUFFER_BYTES in one write, whole, in order, multibyte text intact", async () => {
    const writes = takeStdoutWrites();
    const logger = createLogger({ level: "info", service: "batch", flushMs: 5 });
    const line = fixedLine<{ n: number; model: string }>("request");
    // Some 20 KiB of lines of about 140 bytes (fifty access lines' worth), logged in one turn.
    const count = 150;
    expect(count * 140).toBeLessThan(STDOUT_BUFFER_BYTES);
    for (let n = 0; n < count; n++) line(logger, "info", { n, model: `modèle-☃-🦀-${"x".repeat(40)}` });
    logger.info({ n: count }, "last");
    for (let i = 0; i < 400 && !writes.some((w) => w.includes('"last"')); i++) await sleep(5);
    const ours = writes.filter((w) => w.includes('"service":"batch"'));
    expect(ours).toHaveLength(1);
    const lines = (ours[0] as string)
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { n: number; model?: string });
    expect(lines.map((l) => l.n)).toEqual([...Array(count + 1).keys()]);
    expect(lines[0]?.model).toBe(`modèle-☃-🦀-${"x".repeat(40)}`);
  });
});
