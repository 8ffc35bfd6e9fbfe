import { type BusConnection, connectBus, decodeJson } from "@gatehouse/bus";
import { accessEventStreamName, FeedHeartbeat, heartbeatSubject } from "@gatehouse/contracts";
import { generateKey } from "@gatehouse/keys";
import { captureLogger, waitFor } from "@gatehouse/testkit";
import { DiscardPolicy, type StreamConfig } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStack, type TestStack } from "../src/index.js";
import { createAccount, grant, must, newVirtualAccount } from "./access-api.js";
import { newMember } from "./identity-api.js";

/**
 * Issue 13 §3, as it was found: the access-event stream refuses every publish (full, `discard:
 * new`) while core NATS works, so revoking services commit events that cannot reach the stream.
 * Every revoking call must still return, and from that moment no replica may answer 200 from a
 * cache that still holds what was revoked.
 */
let stack: TestStack;
let bus: BusConnection;
let saved: StreamConfig | undefined;
const adminKey = generateKey("pat");
const committed: Record<string, number> = {};
const ACCOUNT = "mock-main";

beforeAll(async () => {
  stack = await startTestStack({
    ingressReplicas: 3,
    env: { GATEHOUSE_BOOTSTRAP_ADMIN_KEY: adminKey, ACCESS_LEASE_MS: "1000", PRESENCE_INTERVAL_MS: "200" },
  });
  await createAccount(stack, adminKey, ACCOUNT, ["echo"]);
  bus = await connectBus({
    url: stack.env.NATS_URL ?? "",
    name: "e2e-observer",
    logger: captureLogger("e2e").logger,
  });
  bus.nc.subscribe(heartbeatSubject(stack.prefix, "*"), {
    callback: (err, msg) => {
      if (err) return;
      const hb = FeedHeartbeat.safeParse(decodeJson(msg.data));
      if (hb.success) committed[hb.data.source] = hb.data.committedSequence;
    },
  });
  // One event in the stream, so that "full" can be its current count.
  const va = await newVirtualAccount(stack, adminKey, "throwaway");
  await must(stack, adminKey, "DELETE", `/api/v1/virtual-accounts/${va.va.id}`);
}, 60_000);

afterAll(async () => {
  await restoreStream();
  await bus?.drain();
  await stack?.stop();
});

async function refuseStream(): Promise<void> {
  const jsm = await bus.nc.jetstreamManager();
  const info = await jsm.streams.info(accessEventStreamName(stack.prefix));
  saved = info.config;
  await jsm.streams.update(info.config.name, {
    ...info.config,
    max_msgs: info.state.messages,
    discard: DiscardPolicy.New,
  });
}

async function restoreStream(): Promise<void> {
  if (!saved || !bus) return;
  const jsm = await bus.nc.jetstreamManager();
  await jsm.streams.update(saved.name, saved);
  saved = undefined;
}

async function on(r: number, key: string, method: string, path: string, body?: unknown): Promise<number> {
  try {
    const res = await fetch(`${stack.ingress[r]?.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

const me = (r: number, key: string) => on(r, key, "GET", "/api/v1/me");
const chat = (r: number, key: string) =>
  on(r, key, "POST", "/v1/chat/completions", {
    model: `${ACCOUNT}/echo`,
    messages: [{ role: "user", content: "hi" }],
  });
const REPLICAS = [0, 1, 2];

/**
 * Run `revoke` while every replica is asked `ask` back to back, then check the guarantee: every
 * replica answers `refusal` right after the call returned, and no probe sent after it got a 200.
 */
async function refusedFromReturn(
  ask: (r: number) => Promise<number>,
  // biome-ignore lint/suspicious/noExplicitAny: the revoking call's JSON body.
  revoke: () => Promise<any>,
  refusal: number,
): Promise<void> {
  const stop = { done: false };
  const seen: Array<{ sentAt: number; status: number }> = [];
  const loops = REPLICAS.map(async (r) => {
    while (!stop.done) {
      const sentAt = performance.now();
      seen.push({ sentAt, status: await ask(r) });
    }
  });
  const body = await revoke();
  const returnedAt = performance.now();
  const right = await Promise.all(REPLICAS.map(ask));
  stop.done = true;
  await Promise.all(loops);
  expect(right).toEqual([refusal, refusal, refusal]);
  expect(seen.filter((p) => p.sentAt >= returnedAt && p.status === 200)).toEqual([]);
  // The call returned although no replica could apply the event: it is not in the stream yet.
  expect(body.propagation).toMatchObject({ confirmed: 0, published: false });
}

describe("revocation while the access-event stream refuses publishes", () => {
  const warm = {
    vat: undefined as unknown as Awaited<ReturnType<typeof newVirtualAccount>> & { tokenId: string },
    member: undefined as unknown as Awaited<ReturnType<typeof newMember>>,
    grantee: undefined as unknown as Awaited<ReturnType<typeof newVirtualAccount>> & { grantId: string },
  };

  beforeAll(async () => {
    const va = await newVirtualAccount(stack, adminKey, "revoked-key");
    const tokens = await must(stack, adminKey, "GET", `/api/v1/virtual-accounts/${va.va.id}/tokens`);
    warm.vat = { ...va, tokenId: tokens.data[0].id };
    warm.member = await newMember(stack, adminKey, "leaver");
    const g = await newVirtualAccount(stack, adminKey, "loses-grant");
    const granted = await grant(stack, adminKey, ACCOUNT, { kind: "virtual_account", id: g.va.id });
    warm.grantee = { ...g, grantId: granted.id };
    // Warm every replica: each answer after the first comes from its caches.
    for (const r of REPLICAS) {
      for (let i = 0; i < 2; i++) {
        expect(await me(r, warm.vat.key)).toBe(200);
        expect(await me(r, warm.member.key)).toBe(200);
        expect(await chat(r, warm.grantee.key)).toBe(200);
      }
    }
    await refuseStream();
  });

  it("a revoked warm key is refused by every replica from the moment the revoke returns", async () => {
    const path = `/api/v1/virtual-accounts/${warm.vat.va.id}/tokens/${warm.vat.tokenId}`;
    await refusedFromReturn(
      (r) => me(r, warm.vat.key),
      () => must(stack, adminKey, "DELETE", path),
      401,
    );
  });

  it("a deactivated user's warm PAT is refused by every replica from the moment the call returns", async () => {
    const path = `/api/v1/users/${warm.member.user.id}/deactivate`;
    await refusedFromReturn(
      (r) => me(r, warm.member.key),
      () => must(stack, adminKey, "POST", path),
      401,
    );
  });

  it("a removed warm grant is refused by every replica from the moment the call returns", async () => {
    const path = `/api/v1/provider-accounts/${ACCOUNT}/grants/${warm.grantee.grantId}`;
    await refusedFromReturn(
      (r) => chat(r, warm.grantee.key),
      () => must(stack, adminKey, "DELETE", path),
      403,
    );
  });

  it("once the stream takes publishes again, every replica receives the held-back events and trusts its caches again", async () => {
    await restoreStream();
    const metrics = async (r: number) => (await fetch(`${stack.ingress[r]?.url}/metrics`)).text();
    const lastSeq = (text: string, source: string) =>
      Number(
        new RegExp(`gatehouse_access_event_last_sequence\\{source="${source}"\\} (\\d+)`).exec(text)?.[1] ??
          -1,
      );
    await waitFor(
      async () => {
        for (const r of REPLICAS) {
          const text = await metrics(r);
          if (!text.includes("gatehouse_access_feed_trusted 1")) return false;
          // Applied because received, not because a heartbeat said so: the per-event metrics moved.
          if (lastSeq(text, "auth") !== committed.auth || lastSeq(text, "acl") !== committed.acl)
            return false;
        }
        return true;
      },
      15_000,
      100,
    );
    // Nothing revoked comes back now that caches are trusted again.
    for (const r of REPLICAS) {
      expect(await me(r, warm.vat.key)).toBe(401);
      expect(await me(r, warm.member.key)).toBe(401);
      expect(await chat(r, warm.grantee.key)).toBe(403);
    }
    // And what is still valid is served (and cached) everywhere again.
    const fresh = await newVirtualAccount(stack, adminKey, "after");
    for (const r of REPLICAS) expect(await me(r, fresh.key)).toBe(200);
  });
});
