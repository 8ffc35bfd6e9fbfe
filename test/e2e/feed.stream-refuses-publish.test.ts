import { IngressRoster } from "@gatehouse/access-events";
import { accessEventStreamName } from "@gatehouse/contracts";
import { waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FeedHarness, SOURCES } from "./feed-harness.js";

const LEASE_MS = 600;
const h = new FeedHarness(LEASE_MS);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let before = 0;

beforeAll(async () => {
  await h.start();
  for (const s of SOURCES) h.startRelay(s);
  for (let i = 0; i < 2; i++) await h.startFollower();
  await waitFor(() => h.followers.every((f) => f.trusted()), 3_000);
  // Something in the stream, so that "full" can be its current count.
  before = await h.commit("auth");
  await waitFor(() => h.followers.every((f) => f.applied().auth === before), 3_000);
});

afterAll(async () => {
  await h.stop();
});

describe("when JetStream refuses a relay's publishes and core NATS works", () => {
  let unpublished = 0;

  it("the relay keeps heartbeating, and every replica behind it stops trusting at once", async () => {
    await h.refusePublishes();
    unpublished = await h.commit("auth");
    expect(await h.relays.get("auth")?.flush()).toBe(false);
    // The heartbeat went out before flush() answered; a round trip on the same connection delivers it.
    await h.bus.nc.flush();
    for (const f of h.followers) expect(f.trusted()).toBe(false);
    // It stays so for as long as the stream refuses: auth is heard, and is heard to be behind.
    await sleep(LEASE_MS * 2);
    for (const f of h.followers) {
      expect(f.sourceTrust()).toEqual({ auth: false, acl: true, dispatch: true });
      expect(f.applied().auth).toBe(before);
    }
  });

  it("a revoke's confirmation is answered by every replica at once, each refusing until it has the event", async () => {
    const roster = new IngressRoster(h.bus.nc, h.prefix, LEASE_MS, 100);
    await waitFor(() => roster.live().length === 2, 2_000);
    const seq = await h.commit("acl");
    const published = (await h.relays.get("acl")?.flush()) ?? true;
    expect(published).toBe(false);
    const propagation = await roster.confirm("acl", seq, published);
    expect(propagation).toMatchObject({ replicas: 2, confirmed: 0, complete: false, published: false });
    for (const f of h.followers) expect(f.sourceTrust().acl).toBe(false);
    await roster.close();
  });

  it("a replica that starts meanwhile counts no unpublished event as applied, and applies each once the stream takes it", async () => {
    const fresh = await h.startFollower();
    const seen: number[] = [];
    fresh.onEvent((e) => {
      if (e.source === "auth") seen.push(e.sequence);
    });
    await waitFor(() => fresh.sourceTrust().dispatch, 3_000);
    await sleep(300); // several of auth's heartbeats announcing `unpublished`
    expect(fresh.applied().auth).toBe(before);
    expect(fresh.trusted()).toBe(false);

    const jsm = await h.bus.nc.jetstreamManager();
    const full = (await jsm.streams.info(accessEventStreamName(h.prefix))).state.messages;
    await h.acceptPublishes();
    await waitFor(() => h.followers.every((f) => f.trusted()), 5_000);
    expect(seen).toEqual([unpublished]);
    for (const f of h.followers) expect(f.applied().auth).toBe(unpublished);
    // The held-back auth and acl events are in the stream now.
    expect((await jsm.streams.info(accessEventStreamName(h.prefix))).state.messages).toBe(full + 2);
  });
});

describe("events the stream no longer holds", () => {
  it("a replica waiting for purged events drops its cached positives and trusts again", async () => {
    const seq = await h.commit("dispatch");
    await waitFor(() => h.followers.every((f) => f.applied().dispatch === seq), 3_000);
    const jsm = await h.bus.nc.jetstreamManager();
    await jsm.streams.purge(accessEventStreamName(h.prefix), {
      filter: `${h.prefix}.v1.events.access.dispatch`,
    });
    // A new replica finds nothing from dispatch in the stream while dispatch says it published `seq`.
    const fresh = await h.startFollower();
    let resets = 0;
    fresh.onReset(() => resets++);
    expect(fresh.applied().dispatch).toBe(0);
    await waitFor(() => fresh.applied().dispatch === seq, LEASE_MS * 6);
    expect(resets).toBeGreaterThan(0);
    expect(fresh.trusted()).toBe(true);
  });
});
