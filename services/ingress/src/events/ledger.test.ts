import { describe, expect, it } from "vitest";
import { FeedLedger } from "./ledger.js";

const LEASE = 1_000;

/** A ledger that has heard all three sources at `t`, each caught up at `seq`. */
function caughtUp(seq = 5, t = 0): FeedLedger {
  const l = new FeedLedger(["auth", "acl", "dispatch"], LEASE);
  for (const s of ["auth", "acl", "dispatch"] as const) {
    l.baseline(s, seq, t);
    l.heartbeat(s, seq, seq, t);
  }
  return l;
}

describe("FeedLedger", () => {
  it("trusts only once every source has been heard, whatever the others say", () => {
    const l = new FeedLedger(["auth", "acl", "dispatch"], LEASE);
    for (const s of ["auth", "acl", "dispatch"] as const) l.baseline(s, 0, 0);
    l.heartbeat("acl", 0, 0, 0);
    l.heartbeat("dispatch", 0, 0, 0);
    expect(l.distrust("auth", 10)).toBe("unheard");
    expect(l.trusted(10)).toBe(false);
    l.heartbeat("auth", 0, 0, 10);
    expect(l.trusted(10)).toBe(true);
  });

  it("stops trusting when one source goes quiet for the lease, though the others keep talking", () => {
    const l = caughtUp();
    for (let t = 200; t <= 1_400; t += 200) {
      l.heartbeat("acl", 5, 5, t);
      l.heartbeat("dispatch", 5, 5, t);
    }
    expect(l.distrust("auth", 1_000)).toBeUndefined();
    expect(l.distrust("auth", 1_001)).toBe("silent");
    expect(l.trusted(1_001)).toBe(false);
  });

  it("stops trusting at once when a source committed events the stream does not hold", () => {
    const l = caughtUp();
    l.heartbeat("auth", 6, 5, 100);
    expect(l.distrust("auth", 100)).toBe("unpublished");
    expect(l.trusted(100)).toBe(false);
    // Still refused while the relay keeps failing, then trusted once the event arrives.
    l.heartbeat("auth", 6, 5, 600);
    expect(l.trusted(600)).toBe(false);
    expect(l.receive("auth", 6, 700)).toBe("applied");
    expect(l.trusted(700)).toBe(true);
  });

  it("gives an event already in the stream the lease to arrive (publish and delivery race)", () => {
    const l = caughtUp();
    l.heartbeat("auth", 6, 6, 100);
    expect(l.trusted(100)).toBe(true);
    for (const s of ["auth", "acl", "dispatch"] as const) l.heartbeat(s, s === "auth" ? 6 : 5, 6, 1_000);
    expect(l.trusted(1_100)).toBe(true);
    expect(l.distrust("auth", 1_101)).toBe("behind");
    l.receive("auth", 6, 1_200);
    expect(l.trusted(1_200)).toBe(true);
  });

  it("never counts as applied an event it did not receive: a first heartbeat sets no baseline", () => {
    const l = new FeedLedger(["auth"], LEASE);
    // The relay has committed 9 but the stream holds only up to 7 (its publishes fail).
    l.heartbeat("auth", 9, 7, 0);
    expect(l.applied("auth")).toBeUndefined();
    expect(l.distrust("auth", 0)).toBe("no-baseline");
    l.baseline("auth", 7, 0);
    expect(l.applied("auth")).toBe(7);
    expect(l.distrust("auth", 0)).toBe("unpublished");
    // When the stream takes them, 8 and 9 are applied, not dropped as redeliveries.
    expect(l.receive("auth", 8, 10)).toBe("applied");
    expect(l.receive("auth", 9, 10)).toBe("applied");
    expect(l.receive("auth", 9, 10)).toBe("duplicate");
    l.heartbeat("auth", 9, 9, 20);
    expect(l.trusted(20)).toBe(true);
  });

  it("holds a source untrusted after a revoke's confirmation gave up, until the event arrives", () => {
    const l = caughtUp();
    l.owed("auth", 6, true, 100);
    expect(l.trusted(100)).toBe(true); // in the stream, on its way
    l.hold("auth", 6);
    expect(l.distrust("auth", 100)).toBe("behind");
    l.receive("auth", 6, 150);
    expect(l.trusted(150)).toBe(true);
  });

  it("refuses at once when a revoke says its event did not reach the stream", () => {
    const l = caughtUp();
    l.owed("acl", 6, false, 100);
    expect(l.distrust("acl", 100)).toBe("unpublished");
  });

  it("reports a gap when a sequence is skipped", () => {
    const l = caughtUp();
    expect(l.receive("auth", 7, 10)).toBe("gap");
    expect(l.applied("auth")).toBe(7);
  });

  it("names sources whose published events are overdue, and trusts again after a rebase", () => {
    const l = caughtUp(0);
    l.heartbeat("dispatch", 57, 57, 100);
    expect(l.overdue(1_000)).toEqual([]);
    expect(l.overdue(1_101)).toEqual([{ source: "dispatch", published: 57 }]);
    expect(l.trusted(1_101)).toBe(false);
    l.rebase("dispatch", 57, 1_101);
    for (const s of ["auth", "acl", "dispatch"] as const)
      l.heartbeat(s, s === "dispatch" ? 57 : 0, 57, 1_150);
    expect(l.overdue(1_200)).toEqual([]);
    expect(l.trusted(1_200)).toBe(true);
  });

  it("distrusts a source that goes backwards, and follows its new history only after a whole lease", () => {
    const l = caughtUp(5);
    expect(l.heartbeat("auth", 1, 1, 100)).toBe("rewound");
    expect(l.distrust("auth", 100)).toBe("rewound");
    // Its new event 2 looks like one already applied: it must not make the source look caught up.
    expect(l.receive("auth", 2, 150)).toBe("duplicate");
    expect(l.heartbeat("auth", 2, 2, 600)).toBe("ok");
    expect(l.trusted(600)).toBe(false);
    for (const s of ["acl", "dispatch"] as const) l.heartbeat(s, 5, 5, 1_150);
    expect(l.heartbeat("auth", 3, 2, 1_150)).toBe("restarted");
    // Follows what the stream holds of the new history: event 3 is not in it yet, and counts when it comes.
    expect(l.applied("auth")).toBe(2);
    expect(l.distrust("auth", 1_150)).toBe("unpublished");
    expect(l.receive("auth", 3, 1_200)).toBe("applied");
    expect(l.trusted(1_200)).toBe(true);
  });

  it("takes a heartbeat one behind, from another replica of the source, for what it is", () => {
    const l = caughtUp(5);
    expect(l.receive("auth", 6, 100)).toBe("applied");
    // Relay B published 6 after relay A read "committed 5"; A's heartbeat arrives late.
    expect(l.heartbeat("auth", 5, 5, 110)).toBe("rewound");
    expect(l.trusted(110)).toBe(false);
    expect(l.heartbeat("auth", 6, 6, 150)).toBe("ok");
    expect(l.trusted(150)).toBe(true);
    expect(l.applied("auth")).toBe(6);
  });
});
