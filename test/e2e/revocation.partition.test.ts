import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, type Cluster, LEASE_MS, probe, startCluster, statusOn, warmVat } from "./revocation.cluster.js";

let c: Cluster;
let vaId: string;

beforeAll(async () => {
  c = await startCluster();
  const va = await api(c.urls[0] ?? "", c.adminKey, "POST", "/api/v1/virtual-accounts", {
    name: "partitioned",
  });
  vaId = va.body.id;
}, 60_000);
afterAll(async () => {
  await c?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("replicas that cannot hear the revocation", () => {
  it("a replica cut off from NATS never accepts the revoked key, and resyncs on reconnect with zero stale accepts", async () => {
    const [a, , cut] = c.urls as [string, string, string];
    const vat = await warmVat(c, vaId);
    expect(await statusOn(cut, vat.key)).toBe(200);

    c.proxy.cut();
    const stop = { done: false };
    const seen: Array<{ sentAt: number; status: number }> = [];
    const loop = probe(cut, vat.key, stop, seen);
    const revoke = await api(a, c.adminKey, "DELETE", `/api/v1/virtual-accounts/${vaId}/tokens/${vat.id}`);
    const returnedAt = performance.now();
    expect(revoke.status).toBe(200);
    // The cut replica could not confirm, and the wait was bounded by the lease. (Whether both
    // others confirmed in time is the machine's speed: not asserted.)
    expect(revoke.body.propagation.confirmed).toBeLessThanOrEqual(2);
    expect(revoke.body.propagation.complete).toBe(false);
    await sleep(LEASE_MS + 500);
    // Cut off: it cannot ask auth and must not trust its cache — an outage answer, never 200.
    // (Today a request on a reconnecting NATS connection waits for the bus timeout: 504, not an
    // instant 503; see docs/revocation.md.)
    expect([503, 504]).toContain(await statusOn(cut, vat.key));

    c.proxy.restore();
    let after = 0;
    for (let i = 0; i < 100 && after !== 401; i++) {
      after = await statusOn(cut, vat.key);
      if (after !== 401) await sleep(100);
    }
    stop.done = true;
    await loop;
    expect(after).toBe(401);
    const staleAccepts = seen.filter((p) => p.sentAt >= returnedAt && p.status === 200);
    expect(staleAccepts).toEqual([]);
    // Keys that are still valid work again once it is back.
    const fresh = await warmVat(c, vaId, [cut]);
    expect(await statusOn(cut, fresh.key)).toBe(200);
  });

  it("a paused replica does not accept a revoked key after it resumes", async () => {
    const [a, , ,] = c.urls as [string, string, string];
    const paused = c.replicas[1];
    const pausedUrl = c.urls[1] ?? "";
    const vat = await warmVat(c, vaId);
    expect(await statusOn(pausedUrl, vat.key)).toBe(200);
    paused?.pause();
    try {
      const revoke = await api(a, c.adminKey, "DELETE", `/api/v1/virtual-accounts/${vaId}/tokens/${vat.id}`);
      expect(revoke.status).toBe(200);
      await sleep(LEASE_MS);
    } finally {
      paused?.resume();
    }
    // The first request it serves after waking must already refuse (or, at worst, be unavailable).
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push(await statusOn(pausedUrl, vat.key));
    expect(statuses).not.toContain(200);
    expect(statuses.at(-1)).toBe(401);
  });
});
