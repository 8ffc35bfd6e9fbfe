import { randomUUID } from "node:crypto";
import { type AccessEventEnvelope, accessEventStreamName } from "@gatehouse/contracts";
import { waitFor } from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeedHarness, SOURCES } from "./feed-harness.js";

const LEASE_MS = 600;
const h = new FeedHarness(LEASE_MS);

beforeAll(async () => {
  await h.start();
  for (const s of SOURCES) h.startRelay(s);
  for (let i = 0; i < 2; i++) await h.startFollower();
  await waitFor(() => h.followers.every((f) => f.trusted()), 3_000);
});

afterAll(async () => {
  await h.stop();
});

describe("a source whose sequence goes backwards (its database restored or recreated)", () => {
  it("is distrusted at once, and its new events — reusing old numbers — are applied, not taken for redeliveries", async () => {
    for (let i = 0; i < 3; i++) await h.commit("auth");
    await waitFor(() => h.followers.every((f) => f.applied().auth === 3), 3_000);
    const resets = h.followers.map(() => 0);
    const seen: AccessEventEnvelope[][] = h.followers.map(() => []);
    h.followers.forEach((f, i) => {
      f.onReset(() => {
        resets[i] = (resets[i] ?? 0) + 1;
      });
      f.onEvent((e) => {
        if (e.source === "auth") seen[i]?.push(e);
      });
    });

    // auth comes back on an empty outbox: its next events are numbered 1, 2, … again.
    await h.stopRelay("auth");
    await h.database.drizzle({}).execute(sql`truncate auth.outbox`);
    h.startRelay("auth");
    const userId = randomUUID();
    expect(await h.commit("auth", { type: "user.deactivated", userId })).toBe(1);

    // The first heartbeat saying "committed 1" is enough: no replica keeps trusting what it cached.
    await waitFor(() => h.followers.every((f) => !f.trusted()), LEASE_MS);
    expect(resets.every((n) => n > 0)).toBe(true);

    // After the lease the replicas follow auth's new history and trust again…
    await waitFor(() => h.followers.every((f) => f.trusted() && f.applied().auth === 1), LEASE_MS * 6);
    // …and apply its next event, though a replica had already "applied" a number 2 before.
    const keyId = randomUUID();
    const next = await h.commit("auth", {
      type: "key.revoked",
      keyId,
      keyHash: "x".repeat(64),
      reason: "test",
    });
    expect(next).toBe(2);
    await waitFor(() => h.followers.every((f) => f.applied().auth === 2), 3_000);
    for (const events of seen) {
      expect(events.map((e) => e.event)).toContainEqual(
        expect.objectContaining({ type: "key.revoked", keyId }),
      );
    }
    for (const f of h.followers) expect(f.trusted()).toBe(true);
  });
});

describe("an access-event stream deleted and made again", () => {
  it("no replica trusts while the stream has lost its events, and each trusts again on the new stream", async () => {
    const jsm = await h.bus.nc.jetstreamManager();
    const before = h.followers.map((f) => f.applied().acl ?? 0);
    await jsm.streams.delete(accessEventStreamName(h.prefix));
    const seq = await h.commit("acl");
    await waitFor(() => h.followers.every((f) => !f.trusted()), LEASE_MS * 3);
    expect(h.followers.map((f) => f.applied().acl ?? 0)).toEqual(before);
    await waitFor(() => h.followers.every((f) => f.trusted() && f.applied().acl === seq), LEASE_MS * 10);
    // …and hears the new stream's events as they come.
    const delivered = h.followers.map(() => [] as number[]);
    h.followers.forEach((f, i) => {
      f.onEvent((e) => {
        if (e.source === "acl") delivered[i]?.push(e.sequence);
      });
    });
    const next = await h.commit("acl");
    await waitFor(() => delivered.every((d) => d.includes(next)), 3_000);
  });
});
