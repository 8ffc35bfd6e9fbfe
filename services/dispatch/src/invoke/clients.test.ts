import { EgressPolicy, EMPTY_ALLOWLIST } from "@gatehouse/egress";
import { Gate } from "@gatehouse/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { type AccountSource, type LoadedAccount, ProviderClients } from "./clients.js";

/**
 * ProviderClients' caching over its account source (dispatch's own tables and decryption in
 * production, covered end to end): each read is counted, may be held open or fail, and returns the
 * account as the test set it last.
 */
function world() {
  let version = "1";
  let enabled = true;
  let failing = false;
  const gate = new Gate();
  let reads = 0;
  const source: AccountSource = {
    async load(name): Promise<LoadedAccount | undefined> {
      reads++;
      const read = { version, enabled };
      await gate.passed();
      if (failing) throw new Error("database unavailable");
      return {
        account: {
          name,
          type: "openai",
          baseUrl: "http://127.0.0.1:9/v1",
          credentials: { apiKey: "sk-test" },
          options: {},
        },
        enabled: read.enabled,
        prices: new Map(),
        version: read.version,
      };
    },
  };
  let now = 1_000_000;
  const clients = new ProviderClients(
    source,
    {
      egress: new EgressPolicy({ allow: EMPTY_ALLOWLIST, allowLoopback: false }),
      connectTimeoutMs: 1_000,
      firstByteTimeoutMs: 1_000,
      idleTimeoutMs: 1_000,
      maxRetries: 0,
    },
    5_000,
    undefined,
    () => now,
  );
  opened.push(clients);
  return {
    clients,
    reads: () => reads,
    set: (v: { version?: string; enabled?: boolean; failing?: boolean }) => {
      version = v.version ?? version;
      enabled = v.enabled ?? enabled;
      failing = v.failing ?? failing;
    },
    advance: (ms: number) => {
      now += ms;
    },
    hold: () => gate.hold(),
  };
}

const opened: ProviderClients[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});
const tick = () => new Promise((r) => setImmediate(r));

describe("ProviderClients", () => {
  it("reads an account once for calls that ask together", async () => {
    const w = world();
    const release = w.hold();
    const all = Promise.all([w.clients.get("a"), w.clients.get("a"), w.clients.get("a", true)]);
    release();
    const [x, y, routed] = await all;
    expect(x?.client).toBe(y?.client);
    expect(routed?.client).not.toBe(x?.client);
    expect(w.reads()).toBe(1);
  });

  it("past its TTL, the calls keep the account they have while one read replaces it", async () => {
    const w = world();
    const first = await w.clients.get("a");
    w.advance(5_001);
    w.set({ enabled: false });
    const release = w.hold();
    // A burst at the TTL: nobody waits on the read, one read for all of them.
    for (let i = 0; i < 64; i++) expect(w.clients.peek("a")?.loaded.enabled).toBe(true);
    expect((await w.clients.get("a"))?.client).toBe(first?.client);
    expect(w.reads()).toBe(2);
    release();
    await tick();
    expect(w.clients.peek("a")?.loaded.enabled).toBe(false);
    // Same version: the same client (and pool) goes on.
    expect(w.clients.peek("a")?.client).toBe(first?.client);
    expect(w.reads()).toBe(2);
  });

  it("does not keep a read that a drop overtook, and stops using an entry that cannot be read again", async () => {
    const w = world();
    await w.clients.get("a");
    let release = w.hold();
    const during = w.clients.get("b");
    w.set({ enabled: false }); // disabled after the read above left …
    w.clients.drop("b"); // … and its event arrived before the read came back
    release();
    expect((await during)?.loaded.enabled).toBe(false);
    expect(w.clients.peek("b")?.loaded.enabled).toBe(false);

    w.advance(5_001);
    w.set({ failing: true });
    release = w.hold();
    expect(w.clients.peek("a")).toBeDefined();
    release();
    await tick();
    expect(w.clients.peek("a")).toBeUndefined();
    await expect(w.clients.get("a")).rejects.toThrow(/database unavailable/);
  });

  it("stops using an account whose read hangs once it is a TTL past its own, and reads it anew", async () => {
    const w = world();
    await w.clients.get("a");
    w.advance(5_001);
    w.hold(); // never released: the database does not answer this read
    expect(w.clients.peek("a")?.loaded.enabled).toBe(true);
    w.advance(4_998);
    expect(w.clients.peek("a")?.loaded.enabled).toBe(true);
    expect(w.reads()).toBe(2);
    w.advance(3);
    expect(w.clients.peek("a")).toBeUndefined();
    // The read that hung for a TTL is given up: the calls wait on a new one, one for all of them.
    let settled = false;
    void w.clients.get("a").then(() => {
      settled = true;
    });
    void w.clients.get("a");
    await tick();
    expect(settled).toBe(false);
    expect(w.reads()).toBe(3);
  });

  it("does not hand the first call after an idle hour the account read an hour ago", async () => {
    const w = world();
    await w.clients.get("a");
    w.advance(3_600_000);
    w.set({ enabled: false });
    expect(w.clients.peek("a")).toBeUndefined();
    expect((await w.clients.get("a"))?.loaded.enabled).toBe(false);
  });
});
