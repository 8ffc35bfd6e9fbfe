import { afterEach, describe, expect, it, vi } from "vitest";
import { Deadlines, type Due } from "./deadlines.js";

function item(log: string[], name: string): Due {
  return {
    dueAt: 0,
    dueList: undefined,
    prevDue: undefined,
    nextDue: undefined,
    expired: () => log.push(name),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The deadlines' own clock is set by hand; real time only has to pass for their timers to fire.
describe("Deadlines", () => {
  it("expires what is still watched, in order, and never what was removed", async () => {
    let now = 0;
    const deadlines = new Deadlines(() => now);
    const log: string[] = [];
    const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => item(log, n)) as [Due, Due, Due, Due];
    deadlines.add(a, 30);
    deadlines.add(b, 30);
    deadlines.add(c, 30);
    deadlines.add(d, 10);
    deadlines.remove(a); // the head: the list's timer, set for it, must still reach b and c
    deadlines.remove(a); // twice: nothing happens
    now = 10;
    await sleep(40);
    expect(log).toEqual(["d"]);
    deadlines.remove(c);
    now = 30;
    await sleep(40);
    expect(log).toEqual(["d", "b"]);
    expect(deadlines.size()).toBe(0);
    expect(b.prevDue ?? b.nextDue ?? b.dueList).toBeUndefined();
  });

  it("keeps each duration's items in order, and sets its timer again for what is left or added later", async () => {
    let now = 0;
    const deadlines = new Deadlines(() => now);
    const log: string[] = [];
    deadlines.add(item(log, "first"), 10);
    now = 5;
    deadlines.add(item(log, "second"), 10);
    now = 10; // the first is due, the second 5 ms later
    await sleep(30);
    expect(log).toEqual(["first"]);
    now = 15;
    await sleep(30);
    expect(log).toEqual(["first", "second"]);
    deadlines.add(item(log, "again"), 10); // the list is empty and its timer gone
    now = 25;
    await sleep(30);
    expect(log).toEqual(["first", "second", "again"]);
  });

  it("never expires an item before its deadline by its own clock", async () => {
    let now = 0;
    const deadlines = new Deadlines(() => now);
    const log: string[] = [];
    deadlines.add(item(log, "x"), 10);
    now = 5; // the timer fires (real time) while this clock says 5 ms are left: it waits again
    await sleep(40);
    expect(log).toEqual([]);
    now = 10;
    await sleep(40);
    expect(log).toEqual(["x"]);
  });
});

describe("Deadlines while they fire", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("expires the rest, and keeps its timer, when one item's expired() throws", () => {
    vi.useFakeTimers();
    let now = 0;
    const deadlines = new Deadlines(() => now);
    const log: string[] = [];
    deadlines.add(
      {
        ...item(log, "throws"),
        expired: () => {
          log.push("throws");
          throw new Error("expired() failed");
        },
      },
      10,
    );
    deadlines.add(item(log, "after"), 10);
    now = 5;
    deadlines.add(item(log, "later"), 10); // due at 15: the timer must be set again for it
    now = 10;
    // The error is not swallowed (the fake timers rethrow it here, as the loop would report it).
    expect(() => vi.advanceTimersByTime(10)).toThrow("expired() failed");
    now = 11;
    vi.advanceTimersByTime(1);
    expect(log).toEqual(["throws", "after"]);
    now = 15;
    vi.advanceTimersByTime(10);
    expect(log).toEqual(["throws", "after", "later"]);
    expect(deadlines.size()).toBe(0);
  });

  it("expires an item on time when an expiring one adds to the same duration", () => {
    vi.useFakeTimers();
    let now = 0;
    const deadlines = new Deadlines(() => now);
    const log: string[] = [];
    deadlines.add(
      {
        ...item(log, "first"),
        // Adds synchronously while the list fires: that must not leave the list's next item (due
        // 5 ms later) waiting for the new item's timer (a whole duration later).
        expired: () => {
          log.push("first");
          deadlines.add(item(log, "added"), 200);
        },
      },
      200,
    );
    now = 5;
    deadlines.add(item(log, "second"), 200); // due at 205
    now = 200;
    vi.advanceTimersByTime(200);
    expect(log).toEqual(["first"]);
    now = 205;
    vi.advanceTimersByTime(5);
    expect(log).toEqual(["first", "second"]);
    now = 400;
    vi.advanceTimersByTime(195);
    expect(log).toEqual(["first", "second", "added"]);
    expect(deadlines.size()).toBe(0);
  });
});
