import { IngressRoster } from "@gatehouse/access-events";
import type { AccessEventEnvelope } from "@gatehouse/contracts";
import type { AccessFeedFollower } from "@gatehouse/ingress";
import { waitFor } from "@gatehouse/testkit";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeedHarness } from "./feed-harness.js";

const LEASE_MS = 600;
const h = new FeedHarness(LEASE_MS);
const userId = "0b6f1f9e-2c43-4f7e-8d5a-3a1b2c3d4e5f";
const revoke = () => h.commit("auth", { type: "user.deactivated", userId });

beforeAll(async () => {
  await h.start();
  for (let i = 0; i < 3; i++) await h.startFollower();
});

afterAll(async () => {
  await h.stop();
});

describe("access feed", () => {
  it("does not trust cached positives before it hears the feed", () => {
    for (const f of h.followers) expect(f.trusted()).toBe(false);
  });

  it("does not trust them while one source has never been heard, however much the others say", async () => {
    h.startRelay("acl");
    h.startRelay("dispatch");
    await waitFor(() => h.followers.every((f) => f.sourceTrust().acl && f.sourceTrust().dispatch), 3_000);
    // Several of acl's and dispatch's heartbeats later, auth still has not spoken.
    await new Promise((r) => setTimeout(r, 300));
    for (const f of h.followers) {
      expect(f.sourceTrust().auth).toBe(false);
      expect(f.trusted()).toBe(false);
    }
  });

  it("trusts them once every source's heartbeat has arrived", async () => {
    h.startRelay("auth");
    await waitFor(() => h.followers.every((f) => f.trusted()), 3_000);
  });

  it("applies events in order on every replica and moves the epoch", async () => {
    const seen: AccessEventEnvelope[][] = h.followers.map(() => []);
    const offs = h.followers.map((f, i) => f.onEvent((e) => seen[i]?.push(e)));
    const epochs = h.followers.map((f) => f.epoch());
    const a = await revoke();
    const b = await revoke();
    await waitFor(() => seen.every((s) => s.length === 2), 3_000);
    for (const s of seen) expect(s.map((e) => e.sequence)).toEqual([a, b]);
    h.followers.forEach((f, i) => {
      expect(f.epoch()).toBeGreaterThan(epochs[i] ?? 0);
    });
    for (const off of offs) off();
  });

  it("after a revoke's confirmation every live replica has applied it or stopped trusting its cache", async () => {
    const roster = new IngressRoster(h.bus.nc, h.prefix, LEASE_MS, 100);
    await waitFor(() => roster.live().length === 3, 2_000);
    const seq = await revoke();
    const propagation = await roster.confirm("auth", seq, true);
    expect(propagation).toMatchObject({ sequence: seq, replicas: 3, published: true });
    for (const f of h.followers) expect((f.applied().auth ?? 0) >= seq || !f.trusted()).toBe(true);
    await roster.close();
  });

  it("counts a replica as confirmed once it has applied the event", async () => {
    // A roster with a generous wait: the count must not depend on the machine's speed.
    const roster = new IngressRoster(h.bus.nc, h.prefix, 10_000, 100);
    await waitFor(() => roster.live().length === 3, 2_000);
    const seq = await revoke();
    await waitFor(() => h.followers.every((f) => (f.applied().auth ?? 0) >= seq), 5_000);
    const propagation = await roster.confirm("auth", seq, true);
    expect(propagation).toMatchObject({ sequence: seq, replicas: 3, confirmed: 3, complete: true });
    await roster.close();
  });

  it("drops cached positives on a sequence gap", async () => {
    const f = h.followers[0] as AccessFeedFollower;
    let resets = 0;
    const off = f.onReset(() => resets++);
    const db = h.database.drizzle({});
    // Simulate a lost message: skip a sequence by committing a row the relay never publishes.
    const last = f.applied().auth ?? 0;
    await db.execute(sql`update auth.outbox set published_at = now() where sequence <= ${last}`);
    await db.execute(
      sql`insert into auth.outbox (sequence, type, payload, published_at) values (${last + 1}, 'keys.all_revoked', '{"type":"keys.all_revoked"}', now())`,
    );
    await revoke();
    await waitFor(() => resets > 0, 3_000);
    off();
  });

  it("stops trusting cached positives when one source goes quiet for the lease, the others talking on", async () => {
    await waitFor(() => h.followers.every((f) => f.trusted()), 3_000);
    await h.stopRelay("dispatch");
    await waitFor(() => h.followers.every((f) => !f.trusted()), LEASE_MS * 4);
    for (const f of h.followers) {
      expect(f.sourceTrust()).toEqual({ auth: true, acl: true, dispatch: false });
    }
    h.startRelay("dispatch");
    await waitFor(() => h.followers.every((f) => f.trusted()), 3_000);
  });
});
