import { describe, expect, it } from "vitest";
import { LruMap } from "./lru.js";

describe("LruMap", () => {
  it("evicts the least recently used entry once the weight is over the bound", () => {
    const m = new LruMap<string, number>(3);
    m.set("a", 1);
    m.set("b", 2);
    m.set("c", 3);
    expect(m.get("a")).toBe(1); // a is now the newest; b the oldest
    expect(m.get("a")).toBe(1); // a hit on the newest changes nothing
    m.set("d", 4);
    expect(m.peek("b")).toBeUndefined();
    expect([m.peek("a"), m.peek("c"), m.peek("d")]).toEqual([1, 3, 4]);
    expect(m.size).toBe(3);
  });

  it("bounds by weight, keeps nothing heavier than the bound, and forgets on delete and clear", () => {
    const m = new LruMap<string, string>(10);
    m.set("big", "x", 8);
    m.set("small", "y", 2);
    expect(m.weight).toBe(10);
    m.set("more", "z", 3); // 13 > 10: big (the oldest) goes
    expect([m.peek("big"), m.weight]).toEqual([undefined, 5]);
    m.set("huge", "w", 11);
    expect([m.peek("huge"), m.weight]).toEqual([undefined, 5]);
    m.set("small", "y2", 4); // replacing re-weighs
    expect(m.weight).toBe(7);
    m.deleteWhere((v) => v === "z");
    expect([m.size, m.weight]).toEqual([1, 4]);
    m.delete("small");
    m.set("n", "n");
    expect(m.get("n")).toBe("n");
    m.clear();
    expect([m.size, m.weight, m.get("n")]).toEqual([0, 0, undefined]);
  });

  it("after deleting the newest key, a hit on another one still moves it up", () => {
    const m = new LruMap<string, number>(2);
    m.set("a", 1);
    m.set("b", 2);
    m.delete("b");
    m.set("c", 3);
    m.get("a"); // a must become the newest, so c is the one to go
    m.set("d", 4);
    expect([m.peek("a"), m.peek("c"), m.peek("d")]).toEqual([1, undefined, 4]);
  });
});
