import { describe, expect, it } from "vitest";
import { JSON_MAX_DEPTH, nestsDeeperThan } from "./json-body.js";

const arrays = (depth: number) => Buffer.from(`${"[".repeat(depth)}1${"]".repeat(depth)}`);
const objects = (depth: number) => Buffer.from(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);

describe("the JSON nesting limit", () => {
  it("lets a body nest exactly to the limit and refuses one level more", () => {
    for (const build of [arrays, objects]) {
      expect(nestsDeeperThan(build(JSON_MAX_DEPTH))).toBe(false);
      expect(nestsDeeperThan(build(JSON_MAX_DEPTH + 1))).toBe(true);
      expect(nestsDeeperThan(build(100_000))).toBe(true);
    }
  });

  it("counts nesting, not brackets: many siblings and brackets inside strings are fine", () => {
    const siblings = Buffer.from(JSON.stringify({ items: Array.from({ length: 5000 }, () => [{ a: [1] }]) }));
    expect(nestsDeeperThan(siblings)).toBe(false);
    const text = Buffer.from(JSON.stringify({ content: `${"[{".repeat(10_000)} \\" ${"[".repeat(500)}` }));
    expect(nestsDeeperThan(text)).toBe(false);
  });
});
