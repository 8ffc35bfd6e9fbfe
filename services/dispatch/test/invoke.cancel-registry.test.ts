import { type BusConnection, connectBus } from "@gatehouse/bus";
import { invokeCancelSubject } from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix, waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CancelRegistry } from "../src/invoke/handler.js";

const { logger } = captureLogger("cancel-registry-test");
const prefix = testPrefix();
let dispatchSide: BusConnection;
let ingressSide: BusConnection;
let registry: CancelRegistry;

beforeAll(async () => {
  dispatchSide = await connectBus({ url: await testNatsUrl(), name: "cancel-dispatch", logger });
  ingressSide = await connectBus({ url: await testNatsUrl(), name: "cancel-ingress", logger });
  registry = new CancelRegistry(dispatchSide.nc, prefix);
  await dispatchSide.nc.flush();
});

afterAll(async () => {
  await ingressSide?.drain();
  await dispatchSide?.drain();
});

async function cancel(token: string): Promise<void> {
  ingressSide.nc.publish(invokeCancelSubject(prefix, token));
  await ingressSide.nc.flush();
  await dispatchSide.nc.flush();
}

describe("stream cancel tokens", () => {
  it("abort the stream registered under the token, and only that one", async () => {
    const mine = new AbortController();
    const other = new AbortController();
    registry.register("token-aaaaaaaaaaaa", mine);
    registry.register("token-bbbbbbbbbbbb", other);
    await cancel("token-aaaaaaaaaaaa");
    await waitFor(() => mine.signal.aborted, 2_000);
    expect(other.signal.aborted).toBe(false);
  });

  it("are honoured when the cancel overtakes the request", async () => {
    await cancel("token-early-cccccccc");
    const late = new AbortController();
    registry.register("token-early-cccccccc", late);
    expect(late.signal.aborted).toBe(true);
  });

  it("do nothing once released (the stream ended)", async () => {
    const done = new AbortController();
    const release = registry.register("token-dddddddddddd", done);
    release();
    await cancel("token-dddddddddddd");
    expect(done.signal.aborted).toBe(false);
  });

  it("forget an early cancel after a minute", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      await cancel("token-stale-eeeeeeee");
      vi.setSystemTime(Date.now() + 61_000);
      const later = new AbortController();
      registry.register("token-stale-eeeeeeee", later);
      expect(later.signal.aborted).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});
