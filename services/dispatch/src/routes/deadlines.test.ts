import { describe, expect, it } from "vitest";
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
