import { type BusConnection, connectBus } from "@gatehouse/bus";
import {
  GatehouseError,
  invokeCancelSubject,
  invokeCreditSubject,
  STREAM_CREDIT_WINDOW_BYTES,
} from "@gatehouse/contracts";
import { captureLogger, testNatsUrl, testPrefix, waitFor } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CallControls } from "../src/invoke/controls.js";

const { logger } = captureLogger("call-controls-test");
const prefix = testPrefix();
let dispatchSide: BusConnection;
let ingressSide: BusConnection;
let controls: CallControls;

beforeAll(async () => {
  dispatchSide = await connectBus({ url: await testNatsUrl(), name: "cancel-dispatch", logger });
  ingressSide = await connectBus({ url: await testNatsUrl(), name: "cancel-ingress", logger });
  controls = new CallControls(dispatchSide.nc, prefix);
  await dispatchSide.nc.flush();
});

afterAll(async () => {
  controls?.close();
  await ingressSide?.drain();
  await dispatchSide?.drain();
});

async function settle(): Promise<void> {
  await ingressSide.nc.flush();
  await dispatchSide.nc.flush();
}

async function cancel(token: string, reason?: string): Promise<void> {
  ingressSide.nc.publish(invokeCancelSubject(prefix, token), reason ?? "");
  await settle();
}

async function credit(token: string, bytes: number): Promise<void> {
  ingressSide.nc.publish(invokeCreditSubject(prefix, token), String(bytes));
  await settle();
}

function reasonCode(signal: { reason: unknown }): string | undefined {
  return signal.reason instanceof GatehouseError ? signal.reason.code : undefined;
}

describe("cancel tokens", () => {
  it("abort the call registered under the token, and only that one, as client_closed", async () => {
    const mine = controls.register("token-aaaaaaaaaaaa");
    const other = controls.register("token-bbbbbbbbbbbb");
    await cancel("token-aaaaaaaaaaaa");
    await waitFor(() => mine.signal.aborted, 2_000);
    expect(reasonCode(mine.signal)).toBe("client_closed");
    expect(other.signal.aborted).toBe(false);
  });

  it("carry why: a stream whose client stopped reading is a stream_write_timeout", async () => {
    const slow = controls.register("token-slow-ffffffff");
    await cancel("token-slow-ffffffff", "stream_write_timeout");
    await waitFor(() => slow.signal.aborted, 2_000);
    expect(reasonCode(slow.signal)).toBe("stream_write_timeout");
  });

  it("are honoured when the cancel overtakes the request", async () => {
    await cancel("token-early-cccccccc");
    expect(controls.register("token-early-cccccccc").signal.aborted).toBe(true);
  });

  it("do nothing once released (the call ended)", async () => {
    const done = controls.register("token-dddddddddddd");
    done.release();
    await cancel("token-dddddddddddd");
    expect(done.signal.aborted).toBe(false);
  });

  it("forget an early cancel after a minute", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      await cancel("token-stale-eeeeeeee");
      vi.setSystemTime(Date.now() + 61_000);
      expect(controls.register("token-stale-eeeeeeee").signal.aborted).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("stream credit", () => {
  it("lets a window go out without waiting, then waits for ingress's acknowledgement", async () => {
    const call = controls.register("token-credit-gggggggg");
    expect(call.waitForCredit(STREAM_CREDIT_WINDOW_BYTES - 1, 60_000)).toBeUndefined();
    let released = false;
    const wait = call.waitForCredit(STREAM_CREDIT_WINDOW_BYTES * 2, 60_000);
    expect(wait).toBeDefined();
    void wait?.then(() => {
      released = true;
    });
    await credit("token-credit-gggggggg", STREAM_CREDIT_WINDOW_BYTES / 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(released).toBe(false);
    await credit("token-credit-gggggggg", STREAM_CREDIT_WINDOW_BYTES + 1);
    await waitFor(() => released, 2_000);
    call.release();
  });

  it("a stream left without acknowledgement is cancelled after the timeout", async () => {
    const call = controls.register("token-credit-hhhhhhhh");
    await call.waitForCredit(STREAM_CREDIT_WINDOW_BYTES, 100);
    expect(reasonCode(call.signal)).toBe("stream_write_timeout");
    call.release();
  });

  it("acknowledgements short of the window still show the client alive: the timeout starts over", async () => {
    const call = controls.register("token-credit-jjjjjjjj");
    const wait = call.waitForCredit(STREAM_CREDIT_WINDOW_BYTES * 4, 2_000);
    for (let i = 1; i <= 6; i++) {
      await new Promise((r) => setTimeout(r, 500));
      await credit("token-credit-jjjjjjjj", i * 100);
    }
    // 3 s of waiting on a 2 s timeout, and still not cancelled.
    expect(call.signal.aborted).toBe(false);
    await credit("token-credit-jjjjjjjj", STREAM_CREDIT_WINDOW_BYTES * 4);
    await wait;
    expect(call.signal.aborted).toBe(false);
    call.release();
  });

  it("a cancel ends the wait", async () => {
    const call = controls.register("token-credit-iiiiiiii");
    const wait = call.waitForCredit(STREAM_CREDIT_WINDOW_BYTES, 60_000);
    await cancel("token-credit-iiiiiiii");
    await wait;
    expect(reasonCode(call.signal)).toBe("client_closed");
  });
});
