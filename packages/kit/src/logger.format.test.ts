import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseEnv, processEnv } from "./config.js";
import { prettyLogs } from "./logger.js";

describe("choosing human-readable or JSON log lines", () => {
  it.each([
    ["auto", true, true],
    ["auto", false, false],
    ["auto", undefined, false],
    ["pretty", false, true],
    ["pretty", undefined, true],
    ["json", true, false],
    ["json", false, false],
  ] as const)("LOG_FORMAT=%s with stdout a terminal: %s → pretty %s", (format, tty, pretty) => {
    expect(prettyLogs(format, tty)).toBe(pretty);
  });

  it("defaults LOG_FORMAT to auto and refuses an unknown format, naming the variable", () => {
    const schema = z.object(processEnv());
    expect(parseEnv(schema, {}).LOG_FORMAT).toBe("auto");
    expect(parseEnv(schema, { LOG_FORMAT: "pretty" }).LOG_FORMAT).toBe("pretty");
    expect(() => parseEnv(schema, { LOG_FORMAT: "yaml" })).toThrow(/LOG_FORMAT/);
  });
});

describe("LOG_FLUSH_MS", () => {
  it("defaults to 100 ms, takes 0 (every line at once) and refuses more than a minute, naming the variable", () => {
    const schema = z.object(processEnv());
    expect(parseEnv(schema, {}).LOG_FLUSH_MS).toBe(100);
    expect(parseEnv(schema, { LOG_FLUSH_MS: "0" }).LOG_FLUSH_MS).toBe(0);
    expect(() => parseEnv(schema, { LOG_FLUSH_MS: "600000" })).toThrow(/LOG_FLUSH_MS/);
    expect(() => parseEnv(schema, { LOG_FLUSH_MS: "-1" })).toThrow(/LOG_FLUSH_MS/);
  });
});
